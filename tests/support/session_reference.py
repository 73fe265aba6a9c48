"""Plain-Python transcriptions of the session measures in ../shared/spec/session-metrics.md.

One session at a time, loops only, written from the spec's pseudo-code and not from ragbench's
vectorised code: the property tests check that the two agree on random sessions.
``queries`` is a list of ranked lists of doc ids; ``qrels`` maps doc -> session-level grade;
``clicks`` is a list of sets (one per query).
"""

from __future__ import annotations

import math

TIMES = (9.8, 23.0, 37.6)


def _time(grade: int) -> float:
    return TIMES[min(grade, 2)]


def _gain(grade: float) -> float:
    return 2.0**grade - 1.0


def labels_per_query(queries, qrels, clicks, k, mode, a2):
    """rel_i(d) for every query i and d in R_i[:k] (spec 1.2 step 1)."""
    out = []
    for i, ranked in enumerate(queries):
        rel = {}
        for d in ranked[:k]:
            if mode == "qrels":
                rel[d] = max(qrels.get(d, 0), 0)
            else:
                rel[d] = 1 if d in clicks[i] and d in ranked[:k] else 0
        out.append(rel)
    if mode == "clicks" and a2:
        for j, ranked in enumerate(queries):
            for d in ranked[:k]:
                if d in clicks[j]:
                    for i in range(j):
                        if d in queries[i][:k]:
                            out[i][d] = 1
    return out


def trail_u(queries, qrels, clicks=None, *, k=10, L=1000.0, c_q=10.0, cost="time", c_snip=0.0, c_doc=0.0,
            mode="qrels", a2=True):  # fmt: skip
    """U of the actual trailtext (spec 1.2 step 2)."""
    rels = labels_per_query(queries, qrels, clicks, k, mode, a2)
    pos, credited, total = 0.0, set(), 0.0
    for i, ranked in enumerate(queries):
        if i > 0:
            pos += c_q
        for d in ranked[:k]:
            r = rels[i][d]
            if d in credited:
                pos += _time(0) if cost == "time" else c_snip
            elif r > 0:
                pos += _time(r) if cost == "time" else c_snip + c_doc
                credited.add(d)
                g = 1.0 if mode == "clicks" else _gain(r)
                total += g * max(0.0, 1.0 - pos / L)
            else:
                pos += _time(0) if cost == "time" else c_snip
    return total


def ideal_u(
    queries, qrels, clicks=None, *, k=10, L=1000.0, cost="time", c_snip=0.0, c_doc=0.0, mode="qrels", a2=True
):
    """U of the ideal session (spec 1.2 step 3)."""
    if mode == "qrels":
        items = [(d, g) for d, g in qrels.items() if g > 0]
    else:
        rels = labels_per_query(queries, qrels, clicks, k, mode, a2)
        items = sorted({(d, 1) for rel in rels for d, r in rel.items() if r > 0})

    def cost_of(g):
        return _time(g) if cost == "time" else c_snip + c_doc

    def gain_of(g):
        return 1.0 if mode == "clicks" else _gain(g)

    items.sort(key=lambda item: (-gain_of(item[1]) / cost_of(item[1]), -item[1]))
    pos, total = 0.0, 0.0
    for _, g in items:
        pos += cost_of(g)
        total += gain_of(g) * max(0.0, 1.0 - pos / L)
    return total


def num(queries, qrels, clicks=None, **kw):
    ideal = ideal_u(queries, qrels, clicks, **{key: v for key, v in kw.items() if key != "c_q"})
    if ideal == 0:
        return 0.0
    return min(1.0, max(0.0, trail_u(queries, qrels, clicks, **kw) / ideal))


def _log(x, b):
    return math.log(x) / math.log(b)


def sdcg(queries, qrels, *, k=10, b=2.0, bq=4.0, conv="A", qdisc=True):
    total = 0.0
    for j, ranked in enumerate(queries, start=1):
        for r, d in enumerate(ranked[:k], start=1):
            grade = max(qrels.get(d, 0), 0)
            if conv == "C":
                total += grade / ((1 + _log(r, b)) * ((1 + _log(j, bq)) if qdisc else 1))
                continue
            g = _gain(grade)
            if conv == "A":
                rd, qd = 1 / _log(r + b - 1, b), 1 / _log(j + bq - 1, bq)
            elif conv == "B":
                rd, qd = (1.0 if r < b else 1 / _log(r, b)), 1 / (1 + _log(j, bq))
            else:  # D
                rd, qd = 1 / _log(r + b - 1, b), 1 / (1 + _log(j, bq))
            total += g * rd * (qd if qdisc else 1.0)
    return total


def nsdcg_a(queries, qrels, *, k=10, b=2.0, bq=4.0, qdisc=True):
    ideal_list = sorted((max(g, 0) for g in qrels.values()), reverse=True)[:k]
    idcg = sum(_gain(g) / _log(r + b - 1, b) for r, g in enumerate(ideal_list, start=1))
    denominator = sum(
        idcg * ((1 / _log(j + bq - 1, bq)) if qdisc else 1.0) for j in range(1, len(queries) + 1)
    )
    return 0.0 if denominator == 0 else sdcg(queries, qrels, k=k, b=b, bq=bq, qdisc=qdisc) / denominator


def esndcg(queries, qrels, *, k=10, p_reform=0.9, p_down=0.7, discount=True):
    """Exact expectation by enumerating every path (spec section 4)."""
    ideal = sorted((max(g, 0) for g in qrels.values()), reverse=True)
    if not any(g > 0 for g in ideal):
        return 0.0

    def w(t):
        return 1 / math.log2(t + 1) if discount else 1.0

    def idcg(length):
        return sum(_gain(g) * w(t) for t, g in enumerate(ideal[:length], start=1))

    def ndcg(path):
        dcg = sum(_gain(max(qrels.get(d, 0), 0)) * w(t) for t, d in enumerate(path, start=1))
        ideal_value = idcg(len(path))
        return 0.0 if ideal_value == 0 else dcg / ideal_value

    def walk(i, path, prob):
        ranked = queries[i][:k]
        m = len(ranked)
        depths = [(0, 1.0)] if m == 0 else [
            (j, p_down ** (j - 1) * (1 - p_down) if j < m else p_down ** (m - 1)) for j in range(1, m + 1)
        ]  # fmt: skip
        total = 0.0
        for depth, p in depths:
            new_path = path + ranked[:depth]
            if i == len(queries) - 1:
                total += prob * p * ndcg(new_path)
            else:
                total += prob * p * (1 - p_reform) * ndcg(new_path)
                total += walk(i + 1, new_path, prob * p * p_reform)
        return total

    return walk(0, [], 1.0)


def qndcg(queries, qrels, *, k=10, agg="mean"):
    ideal = sorted((max(g, 0) for g in qrels.values()), reverse=True)[:k]
    idcg = sum(_gain(g) / math.log2(r + 1) for r, g in enumerate(ideal, start=1))
    values = []
    for ranked in queries:
        dcg = sum(
            _gain(max(qrels.get(d, 0), 0)) / math.log2(r + 1) for r, d in enumerate(ranked[:k], start=1)
        )
        values.append(0.0 if dcg == 0 or idcg == 0 else dcg / idcg)
    return {"mean": sum(values) / len(values), "sum": sum(values), "max": max(values), "min": min(values),
            "first": values[0], "last": values[-1]}[agg]  # fmt: skip


def srbp(queries, qrels, *, p, b, max_grade):
    total = 0.0
    for m, ranked in enumerate(queries, start=1):
        for r, d in enumerate(ranked, start=1):
            rho = max(qrels.get(d, 0), 0) / max_grade
            total += ((p - b * p) / (1 - b * p)) ** (m - 1) * (b * p) ** (r - 1) * rho
    return (1 - p) * total
