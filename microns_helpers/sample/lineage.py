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
from dataclasses import dataclass

UTC = datetime.timezone.utc

# Who made the sample's edits: no editor of the real ones was published, so the change log
# names the sample instead of a person.
SAMPLE_EDITOR = {"id": 0, "name": "sample service (editor not published)", "affiliation": "sample"}


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

    def __init__(self, edits, roots_created: datetime.datetime, documented=None):
        self.edits = sorted(edits, key=lambda e: (e.timestamp, e.operation_id))
        # Every root that no edit made existed before the first version of the dataset.
        self.roots_created = roots_created
        self._made_by = {e.after: e for e in self.edits}
        self._ended_by = {root: e for e in self.edits for root in e.before}
        # The roots the MICrONs documentation prints, with the supervoxels printed beside them.
        self.documented = {int(r): [int(sv) for sv in svs] for r, svs in (documented or {}).items()}

    @classmethod
    def from_json(cls, data: dict) -> Lineage:
        edits = [
            Edit(int(e["operation_id"]), parse_time(e["timestamp"]), tuple(e["before"]), e["after"])
            for e in data["edits"]
        ]
        return cls(edits, parse_time(data["roots_created"]), data.get("documented_roots"))

    # -- one root ------------------------------------------------------------------------------

    def knows(self, root: int) -> bool:
        """True if some edit made or replaced ``root``, or the documentation prints it."""
        root = int(root)
        return root in self._made_by or root in self._ended_by or root in self.documented

    def documented_supervoxels(self) -> dict[int, int]:
        """{supervoxel: root} of the supervoxels the documentation prints beside a root."""
        return {sv: root for root, svs in self.documented.items() for sv in svs}

    def made_from(self, root: int) -> tuple:
        """The roots the edit that made ``root`` took (none for a root no edit made)."""
        edit = self._made_by.get(int(root))
        return edit.before if edit else ()

    def renamed_to(self, root: int) -> int | None:
        """The root a one-to-one edit made of ``root`` (the same piece, a new id), or None."""
        edit = self._ended_by.get(int(root))
        return int(edit.after) if edit is not None and len(edit.before) == 1 else None

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
        """The root that holds ``root``'s piece at ``moment``: forward through the edits made
        by then; backward only through one-to-one edits made after it (the piece was the one
        root that edit took; after a merge, which of its roots held it is not known here)."""
        root = int(root)
        while True:
            made = self._made_by.get(root)
            if made is None or made.timestamp <= moment or len(made.before) != 1:
                break
            root = int(made.before[0])
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

    def lineage_graph(self, roots, past=None, future=None) -> dict:
        """The node-link graph of ``roots``' history between ``past`` and ``future``.

        The answer of the chunkedgraph's ``lineage_graph_multiple`` route, built as
        PyChunkedGraph builds it (graph/lineage.py, ``lineage_graph``): from the given roots,
        back through the roots each was made of while a root is newer than ``past``, and
        forward to the root each edit made while a root is older than ``future``; never
        sideways (the other inputs of a later merge are not in the graph). A node carries
        its creation time and, when an edit replaced it, that edit's operation id.
        """
        past_s = 0.0 if past is None else past.timestamp()
        future_s = (future or datetime.datetime.now(UTC)).timestamp()
        nodes, links = {}, []
        backward = forward = sorted({int(r) for r in roots})
        while backward or forward:
            older = []
            for root in backward:
                nodes.setdefault(root, self._node(root))
                made = self._made_by.get(root)
                if made is None or self.created(root).timestamp() < past_s:
                    continue
                older += [b for b in made.before if b not in nodes]
                links += [(b, root) for b in made.before]
            newer = []
            for root in forward:
                nodes.setdefault(root, self._node(root))
                ended = self._ended_by.get(root)
                if ended is None or self.created(root).timestamp() > future_s:
                    continue
                if ended.after not in nodes:
                    newer.append(ended.after)
                links.append((root, ended.after))
            backward, forward = sorted(set(older)), sorted(set(newer))
        links = [{"source": a, "target": b} for a, b in dict.fromkeys(links)]
        # networkx's node-link form; the links under both names it has used ("links" to 3.3,
        # "edges" as the default of newer releases), so every caveclient's networkx reads it
        return {
            "directed": True,
            "multigraph": False,
            "graph": {},
            "nodes": list(nodes.values()),
            "links": links,
            "edges": links,
        }

    def _node(self, root: int) -> dict:
        # PyChunkedGraph (graph/lineage.py, _get_node_properties) names the operation that
        # replaced a root; a root no edit has replaced carries no operation id.
        node = {"id": root, "timestamp": self.created(root).timestamp()}
        ended = self._ended_by.get(root)
        if ended is not None:
            node["operation_id"] = ended.operation_id
        return node

    def _graph(self, roots, past=None):
        import networkx as nx  # a dependency of caveclient

        data = self.lineage_graph(roots, past)
        graph = nx.DiGraph()
        graph.add_nodes_from((n["id"], n) for n in data["nodes"])
        graph.add_edges_from((e["source"], e["target"]) for e in data["links"])
        return graph

    def past_ids(self, roots, past: datetime.datetime | None = None) -> dict:
        """The chunkedgraph's ``past_id_mapping``, as PyChunkedGraph computes it
        (graph/segmenthistory.py, ``past_future_id_mapping``): each root's oldest ancestors
        back to ``past`` (from the first edit on when not given), and for each of those
        the one root it became, where it became exactly one (after merges only, as here).
        Its future bound is always the present: the server ignores the one it is sent."""
        import networkx as nx

        roots = [int(r) for r in roots]
        graph = self._graph(roots, past)
        past_map = {}
        for root in roots:
            ancestors = nx.ancestors(graph, root)
            past_map[root] = sorted(a for a in ancestors if graph.in_degree(a) == 0) or [root]
        future_map = {}
        for old in sorted({a for ids in past_map.values() for a in ids}):
            line = list(nx.descendants(graph, old)) + [old]
            ends = [d for d in line if graph.out_degree(d) == 0]
            if any(graph.out_degree(d) >= 2 for d in line) or len(ends) > 1:
                continue
            joined = [next(iter(graph.successors(d))) for d in line if graph.out_degree(d) == 1]
            if any(graph.in_degree(j) == 1 for j in joined):
                continue
            future_map[old] = ends[0]
        return {
            "past_id_map": {str(k): v for k, v in past_map.items()},
            "future_id_map": {str(k): v for k, v in future_map.items()},
        }

    def change_log(self, root: int) -> dict:
        """The chunkedgraph's tabular change log of ``root`` (``tabular_change_log_many``,
        filtered): every edit that made ``root`` or one of its ancestors, oldest first, as
        PyChunkedGraph's SegmentHistory lists them (graph/segmenthistory.py). Every edit of
        the sample is a merge that joins the root with another piece, so filtering keeps all.
        Time stamps in milliseconds since 1970, as the server sends them."""
        import networkx as nx

        graph = self._graph([root])
        made = sorted(
            {self._ended_by[a].operation_id: self._ended_by[a] for a in nx.ancestors(graph, root)}
        )
        edits = [e for e in self.edits if e.operation_id in made]
        edits.sort(key=lambda e: e.operation_id)
        rows = {
            "operation_id": [e.operation_id for e in edits],
            "timestamp": [round(e.timestamp.timestamp() * 1000) for e in edits],
            "user_id": [SAMPLE_EDITOR["id"] for _ in edits],
            "before_root_ids": [sorted(e.before) for e in edits],
            "after_root_ids": [[e.after] for e in edits],
            "is_merge": [True for _ in edits],
            "user_name": [SAMPLE_EDITOR["name"] for _ in edits],
            "user_affiliation": [SAMPLE_EDITOR["affiliation"] for _ in edits],
        }
        # pandas' DataFrame.to_json (orient "columns"): {column: {row index: value}}
        return {name: {str(i): v for i, v in enumerate(column)} for name, column in rows.items()}
