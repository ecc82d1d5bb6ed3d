"""Training losses: biomechanical constraints on 3D hands and the supervised pose losses."""
