"""Headless command line over the same code the docker uses: ``python -m ai_diffusion``."""
