"""Property: any sub-tree of a config, detached, resolves to exactly what it resolved to inside the whole."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

from neuraltypes.config._interpolation import detached_container

Path = tuple[str, ...]

trees = st.recursive(
    st.integers(0, 99),
    lambda children: st.dictionaries(st.sampled_from("abcd"), children, min_size=1, max_size=3),
    max_leaves=12,
).filter(lambda tree: isinstance(tree, dict))


def leaves(tree: Any, path: Path = ()) -> list[Path]:
    if isinstance(tree, dict):
        return [leaf for key, value in tree.items() for leaf in leaves(value, (*path, key))]
    return [path]


def nodes(tree: Any, path: Path = ()) -> list[Path]:
    if not isinstance(tree, dict):
        return []
    return [path, *[node for key, value in tree.items() for node in nodes(value, (*path, key))]]


def reference(location: Path, target: Path, relative: bool) -> str:
    if not relative:
        return "${" + ".".join(target) + "}"
    common = 0
    while common < min(len(location), len(target)) and location[common] == target[common]:
        common += 1
    return "${" + "." * (len(location) - common) + ".".join(target[common:]) + "}"


def put(tree: dict[str, Any], path: Path, value: object) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """A tree where some leaves reference other (plain) leaves, absolutely or relatively, whole or embedded."""
    tree = draw(trees)
    paths = leaves(tree)
    referring = draw(st.sets(st.sampled_from(paths), max_size=len(paths) - 1)) if len(paths) > 1 else set()
    targets = [path for path in paths if path not in referring]
    for location in referring:
        target = draw(st.sampled_from(targets))
        text = reference(location, target, relative=draw(st.booleans()))
        put(tree, location, draw(st.sampled_from([text, f"v{text}"])))
    return tree


@settings(max_examples=60, deadline=None)
@given(configs())
def test_a_detached_sub_tree_resolves_as_it_did_in_place(tree: dict[str, Any]) -> None:
    root = OmegaConf.create(tree)
    for path in nodes(tree)[1:]:
        node = OmegaConf.select(root, ".".join(path))
        assert isinstance(node, DictConfig)
        alone = OmegaConf.create(detached_container(node))
        assert OmegaConf.to_container(alone, resolve=True) == OmegaConf.to_container(node, resolve=True)
