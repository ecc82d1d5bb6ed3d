"""``make bench``: end-to-end node latency and rate, model-only and transport costs, synthesis
throughput, written to bench/results.json and plotted to bench/latency.png.

Why end to end: users judge a perception stack by frames in to results out (a 32 ms model
became a 0.5 Hz demo in another project); the bare model time is reported beside it, never
instead of it.
"""
