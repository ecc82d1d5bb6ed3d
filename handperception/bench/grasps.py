"""Grasp synthesis: ten refined proposals for one object, the pipeline alone (issue #18's goal:
>= 10 refined proposals in <= 2 s on the 2-core CPU).

Four held-out objects of the interpolation split (``synth.grasps.sample_split_object``, test
partition), cycled through; each call is a closed mesh -> surface samples, generator samples,
20 HALO refinement steps, metrics and ranking (``GraspSynthesisPipeline.propose_for_mesh``),
the service's work without its messages. One torch thread, as the node runs by default. Also
reported: the proposals' mean contact ratio, volume and score (a regression that returns worse
grasps must not look like a speed-up).
"""

from __future__ import annotations

import numpy as np
import torch

from handperception.pipeline.grasp_synthesis import GraspSynthesisConfig
from handperception.pipeline.loading import load_grasp_synthesis_pipeline
from handperception.runtime.timing import summarize_ms, time_calls
from handperception.synth.grasps import sample_split_object
from handperception.synth.splits import load_split

GRASP_CHECKPOINT = "checkpoints/grasp_tiny.pt"
HALO_CHECKPOINT = "checkpoints/halo_tiny.pt"
OBJECTS = 4
PROPOSALS = 10


def bench_grasp_synthesis(
    repeats: int = 10,
    generator_checkpoint: str = GRASP_CHECKPOINT,
    halo_checkpoint: str = HALO_CHECKPOINT,
    config: GraspSynthesisConfig | None = None,
) -> dict:
    """p50/p95 of ``repeats`` requests for PROPOSALS right-hand grasps, and their quality."""
    config = config or GraspSynthesisConfig()
    pipeline = load_grasp_synthesis_pipeline(generator_checkpoint, halo_checkpoint, config)
    split = load_split("interpolation")
    meshes = [sample_split_object(split, "test", 0, index).mesh for index in range(OBJECTS)]

    def propose(index: int):
        mesh = meshes[index % OBJECTS]
        return pipeline.propose_for_mesh(mesh.vertices, mesh.faces, PROPOSALS, "right")

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        timings = summarize_ms(time_calls(propose, repeats, warmup=2))
        grasps = [grasp for index in range(OBJECTS) for grasp in propose(index)]
    finally:
        torch.set_num_threads(threads)
    return {
        "request": f"{PROPOSALS} right-hand proposals per object, {OBJECTS} held-out objects",
        "refinement_steps": config.refinement_steps,
        "ten_proposals": timings,
        "proposals_per_request": len(grasps) / OBJECTS,
        "contact_ratio_pct": float(np.mean([g.contact_ratio for g in grasps]) * 100),
        "penetration_volume_cm3": float(np.mean([g.penetration_volume for g in grasps]) * 1e6),
        "score_mean": float(np.mean([g.score for g in grasps])),
    }
