"""Per-feature log-odds contributions of a LightGBM model for many rows at speed.

`PathContributions` precomputes, for every leaf of every tree, the pushes of the splits on the path
to that leaf (Saabas attribution), as one sparse matrix W (leaves x features). At predict time:
one `pred_leaf` call, then contributions = L @ W with L the rows' one-hot leaf matrix (scipy sparse;
W kept dense when it fits; compiled code, no Python loop over rows, trees or features).

A split on feature f that moves a row from a node of expected value v to a child of value v'
pushes f by v' - v; a leaf's pushes telescope to leaf value - root value, so bias + the row's
pushes equal the raw score exactly (as TreeSHAP's do). Unlike TreeSHAP it credits only the splits
on the row's own path: the two agree on most rows' top reasons (measured in bench/credit.py); the
exact path is LightGBM's own `pred_contrib` (TreeSHAP), which `explain` and `score_frame` use.

`compile_leaves` builds the leaf numbers in native code with lleaves (pinned): a copy of the model
whose every tree is its own output ("class") and whose leaves hold their global leaf numbers, compiled
with raw scores, so one call gives the (rows x trees) leaf matrix (about 4x cheaper than `pred_leaf`;
about a second to compile, once per model object). tests/credit check it equals `pred_leaf`.

`choose` is the batch scorer's path: leaves once, then blocks of rows in two threads, each block's
pushes computed for the features that can be reasons only (the model's, not protected) and the
block's reasons chosen right away (`choose_fn`: numpy and scipy, which run without the GIL), so the
(rows x features) matrix of the whole book is never built. Same numbers as `predict`: each push is
the same sum, in the same order, of the same entries of W.
"""
from __future__ import annotations

import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

PARALLEL_ROWS = 20_000  # below this a second thread costs more than it saves
BLOCK_ROWS = 4096  # rows per block of `choose`: a block's pushes (4096 x ~100 floats) stay in cache
DENSE_MAX = 8_000_000  # leaves x features kept as a dense matrix up to 64 MB (400 trees x 63 leaves x 300)


class PathContributions:
    """Saabas pushes per leaf, learned once per model (the model's trees up to `num_iteration`)."""

    def __init__(self, booster, num_iteration: int | None = None, n_features: int | None = None):
        trees = booster.dump_model(num_iteration=num_iteration or -1)["tree_info"]
        self.n_features = n_features or booster.num_feature()
        self.num_iteration = num_iteration
        self.booster = booster
        self.compiled_ = None  # the lleaves model of the leaf numbers, once compile_leaves ran
        rows, cols, vals, offsets, bias, base = [], [], [], [], 0.0, 0
        for t in trees:
            root = t["tree_structure"]
            bias += float(root.get("internal_value", root.get("leaf_value", 0.0)))
            offsets.append(base)
            stack, n_leaves = [(root, ())], 1
            while stack:
                node, path = stack.pop()
                if "split_feature" not in node:  # a leaf (a one-leaf tree has no leaf_index)
                    leaf = base + int(node.get("leaf_index", 0))
                    n_leaves = max(n_leaves, int(node.get("leaf_index", 0)) + 1)
                    for f, dv in path:
                        rows.append(leaf)
                        cols.append(f)
                        vals.append(dv)
                    continue
                v = float(node["internal_value"])
                for child in (node["left_child"], node["right_child"]):
                    cv = float(child.get("internal_value", child.get("leaf_value", 0.0)))
                    stack.append((child, (*path, (int(node["split_feature"]), cv - v))))
            base += n_leaves
        # duplicates (a feature split twice on one path) are summed by the csr constructor
        self.weights_ = sparse.csr_matrix((vals, (rows, cols)), shape=(base, self.n_features))
        # sparse one-hot @ dense W is ~2-4x the sparse @ sparse product (no result structure to build)
        self.dense_ = self.weights_.toarray() if base * self.n_features <= DENSE_MAX else None
        self.offsets_ = np.asarray(offsets, np.int64)
        self.bias_ = bias

    def leaves(self, X: np.ndarray, num_threads: int = 2, compiled: bool = True) -> np.ndarray:
        """(n, trees) global leaf numbers (rows of `weights_`): compiled when `compile_leaves` ran."""
        if compiled and self.compiled_ is not None:
            X = np.ascontiguousarray(X, dtype=np.float64)
            return self.compiled_.predict(X, n_jobs=num_threads).astype(np.int64).reshape(len(X), -1)  # 1 tree: 1-d
        leaf = self.booster.predict(X, pred_leaf=True, num_iteration=self.num_iteration, num_threads=num_threads)
        return leaf.astype(np.int64) + self.offsets_[None, :]

    def compile_leaves(self) -> float:
        """Compile the leaf numbers to native code (lleaves); returns the seconds it took."""
        t0 = time.perf_counter()
        import lleaves  # noqa: PLC0415 (llvmlite initialises on import: only when compiling)
        text = leaf_number_model(self.booster.model_to_string(num_iteration=self.num_iteration or -1),
                                 self.offsets_)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "leaves.txt"
            path.write_text(text, encoding="utf-8")
            model = lleaves.Model(model_file=str(path))
            model.compile(raw_score=True)
        self.compiled_ = model
        return time.perf_counter() - t0

    def predict(self, X: np.ndarray, num_threads: int = 2) -> np.ndarray:
        """(n, n_features + 1): pushes per feature and the bias last, like LightGBM's pred_contrib."""
        leaf = self.leaves(X, num_threads)
        n = len(leaf)
        out = np.empty((n, self.n_features + 1))
        out[:, -1] = self.bias_
        parts = np.array_split(np.arange(n), num_threads if n >= PARALLEL_ROWS and num_threads > 1 else 1)
        if len(parts) == 1:
            self._push(leaf, out)
        else:  # scipy's sparse product runs without the GIL: one block of rows per thread
            with ThreadPoolExecutor(len(parts)) as pool:
                list(pool.map(lambda r: self._push(leaf[r[0]:r[-1] + 1], out[r[0]:r[-1] + 1]), parts))
        return out

    def _push(self, leaf: np.ndarray, out: np.ndarray) -> None:
        n, t = leaf.shape
        onehot = sparse.csr_matrix((np.ones(n * t), leaf.ravel(), np.arange(0, n * t + 1, t)),
                                   shape=(n, self.weights_.shape[0]))
        out[:, :-1] = onehot @ self.dense_ if self.dense_ is not None else (onehot @ self.weights_).toarray()


    def used(self) -> np.ndarray:
        """Mask of the features some split of the model pushes (the others' pushes are exactly 0)."""
        return np.diff(self.weights_.tocsc().indptr) > 0

    def choose(self, X: np.ndarray, cols: np.ndarray, choose_fn, top_n: int,
               num_threads: int = 2, compiled: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(idx, valid) of `choose_fn(pushes, rows)` over blocks of rows: pushes (block, len(cols)) of the
        features `cols` (ascending), rows the block's slice of X; choose_fn returns the block's
        (idx, valid), (block, top_n) each, and may overwrite the pushes it is given."""
        # compiled leaves are computed block by block in the threads; LightGBM's pred_leaf (its own
        # OpenMP threads) once for all rows
        compiled = compiled and self.compiled_ is not None
        if compiled:
            X = np.ascontiguousarray(X, dtype=np.float64)
        leaf = None if compiled else self.leaves(X, num_threads, compiled=False)
        n, t = len(X), len(self.offsets_)
        cols = np.asarray(cols, np.intp)
        key = cols.tobytes()
        if getattr(self, "_cols_key", None) != key:
            self._cols_key = key
            self._cols_w = np.ascontiguousarray(self.dense_[:, cols]) if self.dense_ is not None else \
                self.weights_[:, cols].tocsr()
        w = self._cols_w
        idx, valid = np.zeros((n, top_n), np.intp), np.zeros((n, top_n), bool)
        ones = np.ones(min(n, BLOCK_ROWS) * t)
        steps = np.arange(0, min(n, BLOCK_ROWS) * t + 1, t)

        def block(a: int) -> None:
            b = min(n, a + BLOCK_ROWS)
            m = b - a
            lf = self.leaves(X[a:b], 1) if leaf is None else leaf[a:b]
            onehot = sparse.csr_matrix((ones[:m * t], lf.ravel(), steps[:m + 1]),
                                       shape=(m, self.weights_.shape[0]))
            pushes = onehot @ w
            if sparse.issparse(pushes):
                pushes = pushes.toarray()
            idx[a:b], valid[a:b] = choose_fn(pushes, slice(a, b))

        starts = range(0, n, BLOCK_ROWS)
        if num_threads > 1 and n >= PARALLEL_ROWS:
            with ThreadPoolExecutor(num_threads) as pool:
                list(pool.map(block, starts))
        else:
            for a in starts:
                block(a)
        return idx, valid

    def predict_row(self, x: np.ndarray) -> np.ndarray:
        """`predict` for one row (1, n_features) without building sparse matrices: the row's leaves'
        entries of `weights_` gathered and summed by feature with one bincount."""
        leaf = self.leaves(x, num_threads=1)[0]
        w = self.weights_
        start, stop = w.indptr[leaf], w.indptr[leaf + 1]
        lens = stop - start
        pos = np.repeat(start - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        out = np.bincount(w.indices[pos], weights=w.data[pos], minlength=self.n_features + 1).astype(float)
        out[-1] = self.bias_
        return out


def leaf_number_model(text: str, offsets: np.ndarray) -> str:
    """A LightGBM model text rewritten so its raw prediction is the (rows x trees) matrix of global leaf
    numbers: one output per tree (num_class = trees), tree t's leaf i valued offsets[t] + i."""
    head, sep, rest = text.partition("\nTree=0\n")
    end = rest.index("\nend of trees")
    trees, tail = sep.lstrip("\n") + rest[:end], rest[end:]
    if not re.search(r"^num_tree_per_iteration=1$", head, flags=re.M):
        raise ValueError("compiled leaf numbers need a model with one tree per iteration")
    blocks = re.split(r"(?m)^(?=Tree=\d+$)", trees)
    blocks = [b for b in blocks if b.strip()]
    if len(blocks) != len(offsets):
        raise ValueError(f"{len(blocks)} trees in the model text, {len(offsets)} in the attribution")
    out = []
    for t, block in enumerate(blocks):
        def numbers(m, base=int(offsets[t])):
            k = len(m.group(1).split())
            return "leaf_value=" + " ".join(str(base + i) for i in range(k))
        out.append(re.sub(r"(?m)^leaf_value=(.*)$", numbers, block, count=1))
    head = re.sub(r"(?m)^num_class=\d+$", f"num_class={len(blocks)}", head)
    head = re.sub(r"(?m)^num_tree_per_iteration=\d+$", f"num_tree_per_iteration={len(blocks)}", head)
    head = re.sub(r"(?m)^objective=.*$", "objective=regression", head)
    return head + "\n" + "".join(out) + tail


def float_matrix(model, X: pd.DataFrame) -> np.ndarray:
    """Prepared features as the float matrix LightGBM reads (categories as their training codes)."""
    cols = []
    for c in model.features:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            cols.append(np.where(codes < 0, np.nan, codes).astype(float))
        else:
            cols.append(s.to_numpy(float))
    return np.column_stack(cols)
