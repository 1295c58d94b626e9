//! Optimal one-to-one assignment (the Hungarian method).
//!
//! Greedy matching fails correct answers: with expected `[f(a=1), f(a=1,
//! b=2)]` and predicted `[f(a=1, b=2), f(a=1)]`, greedily giving the first
//! expected call its best partner takes `f(a=1, b=2)` (equal score on `a`)
//! and leaves the second expected call a worse one. The Hungarian method
//! maximises the total score over all pairings in O(r²·c) for r ≤ c.

/// For each row of the `rows × cols` weight matrix (row-major), the column
/// it is paired with, maximising the total weight; `None` for rows left
/// unpaired (only when there are more rows than columns).
///
/// Weights must be finite.
pub(crate) fn max_weight_assignment(
    weights: &[f64],
    rows: usize,
    cols: usize,
) -> Vec<Option<usize>> {
    debug_assert_eq!(weights.len(), rows * cols);
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    // One row or one column (most completions): the best single pair.
    let argmax = |items: &mut dyn Iterator<Item = f64>| {
        let (mut best, mut at) = (f64::NEG_INFINITY, 0);
        for (i, w) in items.enumerate() {
            if w > best {
                (best, at) = (w, i);
            }
        }
        at
    };
    if rows == 1 {
        return vec![Some(argmax(&mut weights.iter().copied()))];
    }
    if cols == 1 {
        let mut by_row = vec![None; rows];
        by_row[argmax(&mut weights.iter().copied())] = Some(0);
        return by_row;
    }
    if rows <= SMALL && cols <= SMALL {
        return exhaustive(weights, rows, cols);
    }
    if rows <= cols {
        min_cost(rows, cols, |r, c| -weights[r * cols + c])
            .into_iter()
            .map(Some)
            .collect()
    } else {
        // Solve the transpose, then invert the pairing.
        let by_col = min_cost(cols, rows, |c, r| -weights[r * cols + c]);
        let mut by_row = vec![None; rows];
        for (c, r) in by_col.into_iter().enumerate() {
            by_row[r] = Some(c);
        }
        by_row
    }
}

/// Sizes up to which trying every pairing is cheaper than the Hungarian
/// method's bookkeeping (at most 4! = 24 complete pairings, no allocation).
const SMALL: usize = 4;

/// The best pairing by depth-first search over every injective pairing
/// (each row takes a free column, or none when rows outnumber columns).
fn exhaustive(weights: &[f64], rows: usize, cols: usize) -> Vec<Option<usize>> {
    struct Search<'w> {
        weights: &'w [f64],
        rows: usize,
        cols: usize,
        current: [Option<usize>; SMALL],
        best: [Option<usize>; SMALL],
        best_total: f64,
    }
    impl Search<'_> {
        fn go(&mut self, row: usize, used: u8, total: f64) {
            if row == self.rows {
                if total > self.best_total {
                    self.best_total = total;
                    self.best = self.current;
                }
                return;
            }
            for c in 0..self.cols {
                if used & (1 << c) == 0 {
                    self.current[row] = Some(c);
                    let w = self.weights[row * self.cols + c];
                    self.go(row + 1, used | (1 << c), total + w);
                }
            }
            // Leaving this row unpaired only helps when there are more
            // rows than columns.
            if self.rows - row > self.cols - used.count_ones() as usize {
                self.current[row] = None;
                self.go(row + 1, used, total);
            }
        }
    }
    let mut search = Search {
        weights,
        rows,
        cols,
        current: [None; SMALL],
        best: [None; SMALL],
        best_total: f64::NEG_INFINITY,
    };
    search.go(0, 0, 0.0);
    search.best[..rows].to_vec()
}

/// Minimum-cost assignment of every row to a distinct column, `n <= m`,
/// with potentials (the O(n²·m) form of the Hungarian method).
fn min_cost(n: usize, m: usize, cost: impl Fn(usize, usize) -> f64) -> Vec<usize> {
    // 1-based rows and columns; column 0 and row 0 are sentinels.
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut row_of = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    let mut min_v = vec![0.0; m + 1];
    let mut used = vec![false; m + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0;
        min_v.fill(f64::INFINITY);
        used.fill(false);
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let reduced = cost(i0 - 1, j - 1) - u[i0] - v[j];
                if reduced < min_v[j] {
                    min_v[j] = reduced;
                    way[j] = j0;
                }
                if min_v[j] < delta {
                    delta = min_v[j];
                    j1 = j;
                }
            }
            if j1 == 0 {
                // Only reachable with non-finite costs; stop rather than loop.
                break;
            }
            for j in 0..=m {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_v[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut col_of = vec![0usize; n];
    for j in 1..=m {
        if row_of[j] != 0 {
            col_of[row_of[j] - 1] = j - 1;
        }
    }
    col_of
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(weights: &[f64], cols: usize, assignment: &[Option<usize>]) -> f64 {
        assignment
            .iter()
            .enumerate()
            .filter_map(|(r, c)| c.map(|c| weights[r * cols + c]))
            .sum()
    }

    /// Every injective pairing, by brute force.
    fn best_total(weights: &[f64], rows: usize, cols: usize) -> f64 {
        fn go(w: &[f64], r: usize, rows: usize, cols: usize, used: &mut Vec<bool>) -> f64 {
            if r == rows {
                return 0.0;
            }
            // Leaving a row unpaired is allowed only when rows > cols.
            let mut best = if rows > cols {
                go(w, r + 1, rows, cols, used)
            } else {
                f64::NEG_INFINITY
            };
            for c in 0..cols {
                if !used[c] {
                    used[c] = true;
                    best = best.max(w[r * cols + c] + go(w, r + 1, rows, cols, used));
                    used[c] = false;
                }
            }
            best
        }
        go(weights, 0, rows, cols, &mut vec![false; cols])
    }

    #[test]
    fn beats_greedy() {
        // Both the exhaustive search (small) and the Hungarian method.
        let w = [
            0.9, 0.8, 0.0, 0.0, 0.0, //
            0.9, 0.1, 0.0, 0.0, 0.0,
        ];
        let a = max_weight_assignment(&w, 2, 5);
        assert_eq!(&a, &[Some(1), Some(0)]);
        // Row 0 prefers column 0 (0.9 vs 0.8), but then row 1 gets 0.1;
        // the optimum pairs 0→1 and 1→0.
        let w = [0.9, 0.8, 0.9, 0.1];
        let a = max_weight_assignment(&w, 2, 2);
        assert_eq!(a, [Some(1), Some(0)]);
    }

    #[test]
    fn matches_brute_force_on_rectangles() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % 5) as f64 / 4.0
        };
        for rows in 0..7 {
            for cols in 0..7 {
                for _ in 0..20 {
                    let w: Vec<f64> = (0..rows * cols).map(|_| next()).collect();
                    let a = max_weight_assignment(&w, rows, cols);
                    assert_eq!(a.len(), rows);
                    let mut seen: Vec<usize> = a.iter().flatten().copied().collect();
                    assert_eq!(seen.len(), rows.min(cols));
                    seen.sort_unstable();
                    seen.dedup();
                    assert_eq!(seen.len(), rows.min(cols), "columns used once");
                    let got = total(&w, cols, &a);
                    let want = if rows == 0 || cols == 0 {
                        0.0
                    } else {
                        best_total(&w, rows, cols)
                    };
                    assert!(
                        (got - want).abs() < 1e-9,
                        "{rows}x{cols} {w:?}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
