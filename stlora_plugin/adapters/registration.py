"""Making generated classes findable again: names, modules and a pickling check.

BasicTS writes a model class into ``cfg.json`` as ``{"name": cls.__name__, "module": cls.__module__}`` and
rebuilds it with ``getattr(importlib.import_module(module), name)``; DDP workers unpickle the config, which
looks the class up by ``__module__`` and ``__qualname__``. A class made by ``st_lora`` is therefore usable
only once it is bound under its own name in its module (``STIDSTLoRA = st_lora(STID)`` at module level).

Classes made here get the metaclass :class:`RegisteredMeta`, whose pickling (registered with ``copyreg``)
first checks that lookup and, when it fails, raises a ``PicklingError`` that says which name to bind where,
instead of pickle's generic "attribute lookup failed".
"""
from __future__ import annotations

import copyreg
import importlib
import pickle
import sys

__all__ = ["RegisteredMeta", "caller_module", "check_findable", "meta_for"]


class RegisteredMeta(type):
    """Metaclass of generated classes; pickling one checks that its module exposes it under its name."""


_METAS: dict[type, type] = {type: RegisteredMeta}


def meta_for(base_meta: type) -> type:
    """A subclass of ``RegisteredMeta`` and ``base_meta`` (a backbone may have its own metaclass)."""
    if issubclass(base_meta, RegisteredMeta):
        return base_meta
    if base_meta not in _METAS:
        meta = type(f"Registered{base_meta.__name__}", (RegisteredMeta, base_meta), {})
        copyreg.pickle(meta, _reduce_class)
        _METAS[base_meta] = meta
    return _METAS[base_meta]


def check_findable(cls: type) -> None:
    """``PicklingError`` unless ``import_module(cls.__module__)`` reaches ``cls`` through ``cls.__qualname__``."""
    hint = (f"bind it at module level under its own name, e.g. `{cls.__qualname__.split('.')[0]} = st_lora(...)` "
            f"in {cls.__module__}, or pass name='<the variable you assign it to>' to st_lora")
    if "<locals>" in cls.__qualname__:
        raise pickle.PicklingError(
            f"{cls.__qualname__} was made inside a function, so BasicTS (cfg.json) and DDP workers cannot find it; "
            f"{hint}")
    try:
        found = importlib.import_module(cls.__module__)
        for part in cls.__qualname__.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        found = None
    if found is not cls:
        what = "a different object" if found is not None else "nothing"
        raise pickle.PicklingError(
            f"{cls.__module__}.{cls.__qualname__} is {what}, so BasicTS (cfg.json) and DDP workers cannot find the "
            f"class {cls.__name__} made by st_lora; {hint}")


def _reduce_class(cls: type) -> str:
    check_findable(cls)
    return cls.__qualname__  # a string: pickle saves the class as a global reference


copyreg.pickle(RegisteredMeta, _reduce_class)


def caller_module(depth: int) -> str:
    """``__name__`` of the module ``depth`` frames above the caller of this function."""
    frame = sys._getframe(depth + 1)
    return frame.f_globals.get("__name__", "__main__")
