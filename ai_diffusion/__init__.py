"""AI Image Generation for Krita: Stable Diffusion on a remote ComfyUI server.

Inside Krita this package registers the extension (actions) and the docker. Outside Krita it
imports cleanly and does nothing else, so the CLI (``python -m ai_diffusion``) and the tests can
use every layer below the Krita adapter.
"""

from .bootstrap import add_vendor_path
from .version import __version__

add_vendor_path()

if "pykrita" in __import__("sys").builtin_module_names:  # running inside Krita
    try:
        from .krita_adapter.plugin import register as _register

        _register()
    except Exception as _error:  # Krita would only log it: tell the painter (load_failure)
        from .load_failure import report as _report

        _report(_error)

__all__ = ["__version__"]
