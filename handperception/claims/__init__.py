"""Registered reproductions of the published methods' claims (``make claims``).

Importing this package registers every claim with ``handperception.claims.harness``.
"""

from handperception.claims import (  # noqa: F401  (register claims)
    biomechanical_2d,
    digit_fusion,
    grasp_refinement,
)
