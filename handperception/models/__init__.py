"""Neural networks: ResNet-style backbone, heatmap utilities, the 2.5D hand pose net,
checkpoints."""
