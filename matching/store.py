"""Row storage that takes appends and removals without a refit.

The fitted rows live in one CSR matrix and, for scoring, in its transpose kept as CSR: a query
``q @ X.T`` then walks only the posting lists of the query's features. Rows added later go to a
small delta segment that is scored the same way; removed rows are masked. When the delta or the
dead rows grow past a share of the whole, :meth:`SparseRows.compact` rebuilds the main segment.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Query features in more than this share of the rows are left out of similarity between rows
# of the same kind, once there are at least COMMON_MIN_ROWS rows (SparseRows.without_common).
COMMON_SHARE = 0.5
COMMON_MIN_ROWS = 50


class SparseRows:
    """Slot-addressed sparse rows with a transposed CSR copy for fast scoring.

    Parameters
    ----------
    rows : csr_matrix
        The fitted rows, one per slot.
    """

    def __init__(self, rows: sp.csr_matrix):
        self.n_features = rows.shape[1]
        self._set_main(rows)

    def _set_main(self, rows: sp.csr_matrix) -> None:
        self.main = sp.csr_matrix(rows, dtype=np.float32)
        self.main_t = self.main.T.tocsr()
        self.delta = sp.csr_matrix((0, self.n_features), dtype=np.float32)
        self.delta_t = self.delta.T.tocsr()

    @property
    def n_slots(self) -> int:
        return self.main.shape[0] + self.delta.shape[0]

    @property
    def n_delta(self) -> int:
        return self.delta.shape[0]

    def append(self, rows: sp.csr_matrix) -> np.ndarray:
        """Add rows at the end; return their slots."""
        start = self.n_slots
        self.delta = sp.vstack([self.delta, rows], format="csr", dtype=np.float32)
        self.delta_t = self.delta.T.tocsr()
        return np.arange(start, start + rows.shape[0])

    def scores(self, queries: sp.csr_matrix) -> np.ndarray:
        """Dense ``queries @ rows.T``, shape ``(n_queries, n_slots)``."""
        main = (queries @ self.main_t).toarray()
        if not self.n_delta:
            return main
        return np.hstack([main, (queries @ self.delta_t).toarray()])

    def without_common(self, queries: sp.csr_matrix, share: float = COMMON_SHARE) -> sp.csr_matrix:
        """``queries`` less the features found in more than ``share`` of the rows.

        Such a feature (boilerplate every package description has: "参考价", "天内交付")
        tells no row from another, yet scoring a query that has it walks its posting list
        through every row: package-to-package similarity spent 80 % of its time on 55 such
        features at 73k packages. A small catalogue keeps everything (there, every feature is
        in half of the rows).
        """
        if self.n_slots < COMMON_MIN_ROWS:
            return queries
        frequency = np.diff(self.main_t.indptr)
        if self.n_delta:
            frequency = frequency + np.diff(self.delta_t.indptr)
        common = frequency[queries.indices] > share * max(self.n_slots, 1)
        if not common.any():
            return queries
        kept = queries.copy()
        kept.data[common] = 0
        kept.eliminate_zeros()
        return kept

    def rows(self, slots: np.ndarray) -> sp.csr_matrix:
        """The rows at ``slots`` (in that order)."""
        slots = np.asarray(slots, dtype=np.int64)
        n_main = self.main.shape[0]
        in_main = slots < n_main
        if in_main.all():
            return self.main[slots]
        stacked = sp.vstack(
            [self.main[slots[in_main]], self.delta[slots[~in_main] - n_main]], format="csr"
        )
        order = np.concatenate([np.flatnonzero(in_main), np.flatnonzero(~in_main)])
        return stacked[np.argsort(order)]

    def row_arrays(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and values of one row, as views (no scipy object per call)."""
        n_main = self.main.shape[0]
        m, i = (self.main, slot) if slot < n_main else (self.delta, slot - n_main)
        lo, hi = m.indptr[i], m.indptr[i + 1]
        return m.indices[lo:hi], m.data[lo:hi]

    def row(self, slot: int) -> sp.csr_matrix:
        n_main = self.main.shape[0]
        return self.main[slot] if slot < n_main else self.delta[slot - n_main]

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the slots in ``keep`` (in order), merging the delta into the main rows."""
        merged = sp.vstack([self.main, self.delta], format="csr", dtype=np.float32)
        self._set_main(merged[np.asarray(keep, dtype=np.int64)])

    @property
    def nbytes(self) -> int:
        mats = (self.main, self.main_t, self.delta, self.delta_t)
        return sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in mats)
