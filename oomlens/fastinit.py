"""Fast constructors for the model's frozen, slotted dataclasses, for the parser's hot loops
(task rows, buddy buckets, stack frames: hundreds of objects per report).

A frozen dataclass's ``__init__`` parses keywords and calls ``object.__setattr__`` by name for
every field; a report builds ~150 such objects, and that was a third of its parse time. The
constructors made here take their values positionally (or straight from a regex match tuple)
and set every slot through its descriptor: about twice as fast, and an equal object (the
tests compare). ``fast_init`` gives a class an ``__init__`` of the same signature built the
same way, so keyword construction and ``dataclasses.replace`` get faster too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from functools import cache
from typing import Any, TypeVar, cast

T = TypeVar("T")


def positional(cls: type[T], names: tuple[str, ...]) -> Callable[..., T]:
    """``make(*values)`` equal to ``cls(**dict(zip(names, values)))``; every other field gets
    its default. Cached per arguments."""
    return cast("Callable[..., T]", _positional(cast(type, cls), names))


@cache
def _positional(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    sources = {name: f"v{i}" for i, name in enumerate(names)}
    return _generate(cls, tuple(sources.items()), ", ".join(sources.values()))


def from_row(
    cls: type[T], layout: tuple[str, ...], ints: frozenset[str], args: tuple[str, ...] = ()
) -> Callable[..., T]:
    """``make(row, *values)``: ``row`` a tuple of strings (a ``findall`` row) whose item ``i``
    sets field ``layout[i]``, through ``int`` for the names in ``ints``; ``values`` set the
    fields named in ``args``. Cached per arguments."""
    return cast("Callable[..., T]", _from_row(cast(type, cls), layout, ints, args))


@cache
def _from_row(
    cls: type, layout: tuple[str, ...], ints: frozenset[str], args: tuple[str, ...]
) -> Callable[..., Any]:
    sources = {
        name: f"int(row[{i}])" if name in ints else f"row[{i}]" for i, name in enumerate(layout)
    }
    sources.update((name, f"a{i}") for i, name in enumerate(args))
    params = ", ".join(["row", *(f"a{i}" for i in range(len(args)))])
    return _generate(cls, tuple(sources.items()), params)


@cache
def _generate(cls: type, sources: tuple[tuple[str, str], ...], params: str) -> Callable[..., Any]:
    """Source of ``def make(<params>)`` setting each field from ``sources`` (field -> Python
    expression over the parameters), or from its default."""
    if not is_dataclass(cls) or not hasattr(cls, "__slots__") or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a slotted dataclass without __post_init__ is needed")
    given = dict(sources)
    unknown = set(given) - {spec.name for spec in fields(cls)}
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)}")
    draft = _draft(cls)
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls, "draft": draft, "int": int}
    body = []
    for index, spec in enumerate(fields(cls)):
        scope[f"set{index}"] = getattr(cls, spec.name).__set__
        if spec.name in given:
            value = given[spec.name]
        elif spec.default is not MISSING:
            scope[f"default{index}"] = spec.default
            value = f"default{index}"
        elif spec.default_factory is not MISSING:
            scope[f"factory{index}"] = spec.default_factory
            value = f"factory{index}()"
        else:
            raise TypeError(f"{cls.__name__}.{spec.name} has no default and is not given")
        body.append(f"    obj.{spec.name} = {value}" if draft else f"    set{index}(obj, {value})")
    if draft is None:
        source = f"def make({params}):\n    obj = new(cls)\n" + "\n".join(body)
    else:
        source = f"def make({params}):\n    obj = new(draft)\n" + "\n".join(body)
        source += "\n    obj.__class__ = cls"
    source += "\n    return obj\n"
    exec(source, scope)  # noqa: S102 - built from the class's own field names only
    make: Callable[..., Any] = scope["make"]
    return make


@cache
def _draft(cls: type) -> type | None:
    """A plain class with the same slots as the frozen ``cls``: a maker fills a draft with
    ordinary attribute stores, then makes it a ``cls`` (``__class__`` assignment, allowed
    between classes of one layout), twice as fast as setting each slot through the frozen
    class's descriptors. None when ``cls`` is not laid out as its own slots alone."""
    slots = cls.__dict__.get("__slots__")
    names = tuple(spec.name for spec in fields(cls))
    if cls.__bases__ != (object,) or not isinstance(slots, tuple) or slots != names:
        return None
    draft = type(f"{cls.__name__}Draft", (), {"__slots__": slots, "__module__": cls.__module__})
    probe: Any = object.__new__(draft)
    try:
        probe.__class__ = cls
    except TypeError:  # layouts differ after all (a __weakref__ or __dict__ slot)
        return None
    return draft


# the generated __init__ each class had before ``fast_init`` (the tests compare the two)
DATACLASS_INITS: dict[type, Callable[..., None]] = {}


def fast_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` that ``dataclass`` generated for the slotted, frozen ``cls``
    by one with the same parameters (names, kinds, defaults) that sets every field through
    its slot descriptor instead of ``object.__setattr__``."""
    if not is_dataclass(cls) or not hasattr(cls, "__slots__") or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a slotted dataclass without __post_init__ is needed")
    original = cls.__init__
    parameters = inspect.signature(original).parameters
    scope: dict[str, Any] = {}
    params: list[str] = ["self"]
    keyword_only = False
    body = []
    for index, spec in enumerate(fields(cls)):
        scope[f"set{index}"] = getattr(cls, spec.name).__set__
        if spec.default_factory is not MISSING:
            scope[f"factory{index}"] = spec.default_factory
        if not spec.init:  # not a parameter: its default, as dataclass sets it
            if spec.default is not MISSING:
                scope[f"default{index}"] = spec.default
                body.append(f"    set{index}(self, default{index})")
            elif spec.default_factory is not MISSING:
                body.append(f"    set{index}(self, factory{index}())")
            continue
        parameter = parameters[spec.name]
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not keyword_only:
            params.append("*")
            keyword_only = True
        text, value = spec.name, spec.name
        if parameter.default is not inspect.Parameter.empty:
            # dataclass's own default, its "call the factory" marker included
            scope[f"default{index}"] = parameter.default
            text += f"=default{index}"
            if spec.default_factory is not MISSING:
                value = f"factory{index}() if {value} is default{index} else {value}"
        params.append(text)
        body.append(f"    set{index}(self, {value})")
    source = f"def __init__({', '.join(params)}):\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, scope)  # noqa: S102 - built from the class's own field names only
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = original.__doc__
    init.__annotations__ = original.__annotations__
    DATACLASS_INITS[cls] = original
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
