"""AI Image Generation for Krita: Stable Diffusion on a remote ComfyUI server.

Inside Krita this package registers the extension (actions) and the docker. Outside Krita it
imports cleanly and does nothing else, so the CLI (``python -m ai_diffusion``) and the tests can
use every layer below the Krita adapter.
"""

from .bootstrap import add_vendor_path
from .version import __version__

add_vendor_path()

if "pykrita" in __import__("sys").builtin_module_names:  # running inside Krita
    from .krita_adapter.plugin import register as _register

    _register()

__all__ = ["__version__"]
