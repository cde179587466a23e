"""SparseRows.without_common: the features that tell no row from another are left out of a
query, only those, and only once the rows are many."""

import numpy as np
import scipy.sparse as sp

from matching.store import COMMON_MIN_ROWS, SparseRows


def _rows(n: int) -> SparseRows:
    dense = np.zeros((n, 4), dtype=np.float32)
    dense[:, 0] = 0.1  # in every row
    dense[: n // 3, 1] = 0.5  # in a third of them
    dense[n - 1, 2] = 0.9  # in one
    return SparseRows(sp.csr_matrix(dense))


def test_features_in_more_than_half_of_the_rows_are_dropped():
    rows = _rows(COMMON_MIN_ROWS * 2)
    query = sp.csr_matrix(np.array([[0.3, 0.4, 0.5, 0.6]], dtype=np.float32))
    kept = rows.without_common(query)
    assert kept.toarray().tolist() == [[0.0, np.float32(0.4), 0.5, np.float32(0.6)]]
    assert query.toarray()[0, 0] == np.float32(0.3)  # the caller's query is untouched
    # the scores differ by the dropped feature's part only
    difference = rows.scores(query) - rows.scores(kept)
    assert np.allclose(difference, np.float32(0.3 * 0.1))


def test_appended_rows_count_and_small_catalogues_keep_everything():
    rows = _rows(COMMON_MIN_ROWS - 1)
    query = sp.csr_matrix(np.array([[0.3, 0.0, 0.0, 0.0]], dtype=np.float32))
    assert rows.without_common(query).nnz == 1
    rows.append(sp.csr_matrix(np.array([[0.2, 0, 0, 0]] * 10, dtype=np.float32)))
    assert rows.without_common(query).nnz == 0
