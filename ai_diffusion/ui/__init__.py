"""Widgets of the docker. They talk to ``ai_diffusion.state`` objects, never to Krita."""
