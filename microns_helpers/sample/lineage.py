"""Root ids over time in the sample: which root holds a piece of a cell at a given moment.

Proofreading edits replace root ids: an edit takes one or more roots (``before``) and makes
one new root (``after``) at a time stamp. The sample's rows store the roots of its base
version (1300); a query at another moment maps every root through the edits made since.
Only merges (several roots into one) and one-to-one edits are modelled, so the mapping is
a plain function of the base root, and every root of the sample has one history.

What the chunkedgraph routes of the sample service answer is computed here: whether a root
is the latest at a moment, when it was made, its lineage graph and its past ids.

Example::

    lineage = Lineage.from_json(json.loads(path.read_text()))
    lineage.root_at(864691135808473885, lineage.parse("2026-03-07T08:10:01"))
"""

from __future__ import annotations

import datetime
from collections import deque
from dataclasses import dataclass

UTC = datetime.timezone.utc


def parse_time(text: str) -> datetime.datetime:
    """An ISO time stamp (UTC when it names no zone) as an aware datetime."""
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_epoch(seconds) -> datetime.datetime:
    """The time stamps chunkedgraph requests carry: seconds since 1970, UTC."""
    return datetime.datetime.fromtimestamp(float(seconds), UTC)


@dataclass(frozen=True)
class Edit:
    operation_id: int
    timestamp: datetime.datetime
    before: tuple
    after: int


class Lineage:
    """The edits of the sample, and the questions the chunkedgraph answers about them."""

    def __init__(self, edits, roots_created: datetime.datetime):
        self.edits = sorted(edits, key=lambda e: (e.timestamp, e.operation_id))
        # Every root that no edit made existed before the first version of the dataset.
        self.roots_created = roots_created
        self._made_by = {e.after: e for e in self.edits}
        self._ended_by = {root: e for e in self.edits for root in e.before}

    @classmethod
    def from_json(cls, data: dict) -> Lineage:
        edits = [
            Edit(int(e["operation_id"]), parse_time(e["timestamp"]), tuple(e["before"]), e["after"])
            for e in data["edits"]
        ]
        return cls(edits, parse_time(data["roots_created"]))

    # -- one root ------------------------------------------------------------------------------

    def knows(self, root: int) -> bool:
        """True if some edit made or replaced ``root``."""
        return int(root) in self._made_by or int(root) in self._ended_by

    def made_from(self, root: int) -> tuple:
        """The roots the edit that made ``root`` took (none for a root no edit made)."""
        edit = self._made_by.get(int(root))
        return edit.before if edit else ()

    def created(self, root: int) -> datetime.datetime:
        edit = self._made_by.get(int(root))
        return edit.timestamp if edit else self.roots_created

    def ended(self, root: int) -> datetime.datetime | None:
        edit = self._ended_by.get(int(root))
        return edit.timestamp if edit else None

    def is_latest(self, root: int, moment: datetime.datetime) -> bool:
        """True if ``root`` exists at ``moment`` and no edit has replaced it yet."""
        ended = self.ended(root)
        return self.created(root) <= moment and (ended is None or ended > moment)

    def root_at(self, root: int, moment: datetime.datetime) -> int:
        """The root that holds ``root``'s piece at ``moment`` (later moments only)."""
        root = int(root)
        while True:
            edit = self._ended_by.get(root)
            if edit is None or edit.timestamp > moment:
                return root
            root = edit.after

    def mapping_at(self, moment: datetime.datetime) -> dict:
        """{old root: root at ``moment``} for every root some edit replaced by then."""
        return {
            root: self.root_at(root, moment)
            for root, edit in self._ended_by.items()
            if edit.timestamp <= moment
        }

    # -- graphs ---------------------------------------------------------------------------------

    def _component(self, roots) -> set:
        seen, todo = set(), deque(int(r) for r in roots)
        while todo:
            root = todo.popleft()
            if root in seen:
                continue
            seen.add(root)
            if root in self._made_by:
                todo.extend(self._made_by[root].before)
            if root in self._ended_by:
                todo.append(self._ended_by[root].after)
        return seen

    def lineage_graph(self, roots, past=None, future=None) -> dict:
        """The node-link graph of ``roots``' history between ``past`` and ``future``.

        The answer of the chunkedgraph's ``lineage_graph_multiple`` route: nodes carry their
        creation time (seconds since 1970) and the operation that made them; links go from
        a root to the root an edit made of it.
        """
        nodes = []
        for root in sorted(self._component(roots)):
            ended = self.ended(root)
            if future is not None and self.created(root) > future:
                continue
            if past is not None and ended is not None and ended < past:
                continue
            edit = self._made_by.get(root)
            nodes.append(
                {
                    "id": root,
                    "timestamp": self.created(root).timestamp(),
                    "operation_id": edit.operation_id if edit else None,
                }
            )
        kept = {n["id"] for n in nodes}
        links = [
            {"source": before, "target": e.after}
            for e in self.edits
            if e.after in kept
            for before in e.before
            if before in kept
        ]
        # networkx's node-link form; the links under both names it has used ("links" to 3.3,
        # "edges" as the default of newer releases), so every caveclient's networkx reads it
        return {
            "directed": True,
            "multigraph": False,
            "graph": {},
            "nodes": nodes,
            "links": links,
            "edges": links,
        }

    def past_ids(self, roots, past: datetime.datetime) -> dict:
        """The chunkedgraph's ``past_id_mapping``: each root's ancestors alive at ``past``."""
        past_map, future_map = {}, {}
        for root in (int(r) for r in roots):
            found, todo = [], deque([root])
            while todo:
                node = todo.popleft()
                if self.created(node) <= past:
                    found.append(node)
                elif node in self._made_by:
                    todo.extend(self._made_by[node].before)
            past_map[str(root)] = sorted(set(found))
            for old in past_map[str(root)]:
                future_map.setdefault(str(old), []).append(root)
        return {"past_id_map": past_map, "future_id_map": future_map}
