"""Evaluation: metrics, HANDS'19-style split reports, grasp diversity.

Pure numpy/scipy (torch tensors are accepted and converted); no ROS imports. Import from the
submodules (``eval.metrics``, ``eval.report``, ...): nothing is imported eagerly here, so using
one metric never drags in the rest.
"""
