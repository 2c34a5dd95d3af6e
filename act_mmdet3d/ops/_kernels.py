"""numba CPU kernels for exact farthest point sampling and kNN (float32).

Not public API: use :func:`act_mmdet3d.ops.furthest_point_sample` and
:func:`act_mmdet3d.ops.knn`.

Exactness. Every squared distance is ``(dx*dx + dy*dy) + dz*dz`` in float32,
one rounding per operation. The kernels are compiled without fast-math, so
LLVM neither fuses multiply-adds nor reorders the sum: the values are bit
for bit those of the pure-torch reference. Comparisons are done on the IEEE
bit patterns of the (non-negative) distances reinterpreted as int32, which
orders them exactly like the floats and lets LLVM vectorise the min / max
reductions (it will not vectorise float max reductions without fast-math).

Speed. Each cloud is bucketed once into the cells of a regular grid over its
bounding box (~``per_cell`` points per cell, counting sort, points copied
into cell order, each cell padded to a multiple of 16 lanes). Each cell keeps
its tight bounding box. A cell can be skipped whenever the squared distance
from the query to its box is already no smaller than what the cell could
change:

* FPS: the cell's largest running distance (no point in it can decrease);
* kNN: the current k-th smallest distance (no point in it can enter).

The box distance is computed with the same float formula as the point
distances; rounding is monotone, so it is a true lower bound of every
computed point distance in the cell and skipping is exact, ties included.

Ties. FPS picks the lowest original index among equal maxima, as
``torch.argmax`` does; kNN orders neighbours by (distance, index), which is
what a stable sort of the distances gives.
"""
from collections import namedtuple

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LANES = 16  # cells are padded to a multiple of this many points
_IINF = np.int32(0x7F800000)  # bit pattern of +inf
_IMIN = np.int32(-2147483648)  # below every distance: marks padding (FPS)
_JIT = dict(nogil=True, cache=True)


@intrinsic
def _f2i(typingctx, x):
    """Reinterpret float32 bits as int32."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


@intrinsic
def _i2f(typingctx, x):
    """Reinterpret int32 bits as float32."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@nb.njit(inline='always', **_JIT)
def _minmax(a, lo, hi):
    """min and max of the finite float32 values a[lo:hi] (hi > lo).

    Uses order-preserving int keys so that the loop vectorises.
    """
    v = a[lo:hi]
    mn = np.int32(0x7FFFFFFF)
    mx = np.int32(-2147483648)
    for i in range(hi - lo):
        k = _f2i(v[i])
        k = k ^ ((k >> 31) & np.int32(0x7FFFFFFF))
        mn = min(mn, k)
        mx = max(mx, k)
    mn = mn ^ ((mn >> 31) & np.int32(0x7FFFFFFF))
    mx = mx ^ ((mx >> 31) & np.int32(0x7FFFFFFF))
    return _i2f(mn), _i2f(mx)


@nb.njit(**_JIT)
def grid_size(n, per_cell):
    return max(1, int(round((n / per_cell)**(1.0 / 3.0))))


#: The grid of one cloud of N points (g^3 cells, capacity N + 16 g^3): the
#: cloud as struct-of-arrays (xs, ys, zs), its points in cell order (rx, ry,
#: rz, original index ro), per cell its span (bstart, bcount) and tight box
#: (bxl, bxh, byl, byh, bzl, bzh), and scratch (cell, cnt, blk).
Cells = namedtuple(
    'Cells', 'g xs ys zs rx ry rz ro cell cnt blk bstart bcount '
    'bxl bxh byl byh bzl bzh')


@nb.njit(inline='always', **_JIT)
def _new_cells(n, per_cell):
    """Empty :data:`Cells` for clouds of n points."""
    g = grid_size(n, per_cell)
    ncell = g * g * g
    cap = n + ncell * _LANES
    f32 = np.float32
    return Cells(g, np.empty(n, f32), np.empty(n, f32), np.empty(n, f32),
                 np.empty(cap, f32), np.empty(cap, f32), np.empty(cap, f32),
                 np.empty(cap, np.int64), np.empty(n, np.int32),
                 np.empty(ncell, np.int64), np.empty(ncell, np.int64),
                 np.empty(ncell + 1, np.int64), np.empty(ncell, np.int64),
                 np.empty(ncell, f32), np.empty(ncell, f32),
                 np.empty(ncell, f32), np.empty(ncell, f32),
                 np.empty(ncell, f32), np.empty(ncell, f32))


@nb.njit(inline='always', **_JIT)
def _build_cells(src, b, grid):
    """Bucket cloud ``src[b]`` ((N, 3) of a C-contiguous (B, N, 3) array)
    into ``grid``.

    Fills grid.xs/ys/zs, and for each non-empty cell k (in cell order):
    the points rx/ry/rz[bstart[k]:bstart[k] + bcount[k]] with their original
    indices ro[...], padding up to bstart[k + 1] (coordinates of the box's
    low corner, ro = N), and the tight box [bxl, bxh] x [byl, byh] x
    [bzl, bzh]. Returns the number of non-empty cells.
    """
    xs, ys, zs, g = grid.xs, grid.ys, grid.zs, grid.g
    rx, ry, rz, ro, cell = grid.rx, grid.ry, grid.rz, grid.ro, grid.cell
    cnt, blk, bstart, bcount = grid.cnt, grid.blk, grid.bstart, grid.bcount
    n = xs.shape[0]
    for i in range(n):  # to struct-of-arrays
        xs[i] = src[b, i, 0]
        ys[i] = src[b, i, 1]
        zs[i] = src[b, i, 2]
    x0, x1 = _minmax(xs, 0, n)
    y0, y1 = _minmax(ys, 0, n)
    z0, z1 = _minmax(zs, 0, n)
    # float64 scale: no overflow, no NaN for any finite extent
    ex = np.float64(x1) - np.float64(x0)
    ey = np.float64(y1) - np.float64(y0)
    ez = np.float64(z1) - np.float64(z0)
    sx = g / ex if ex > 0 else 0.0
    sy = g / ey if ey > 0 else 0.0
    sz = g / ez if ez > 0 else 0.0
    x0d = np.float64(x0)
    y0d = np.float64(y0)
    z0d = np.float64(z0)
    for i in range(n):
        cx = min(np.int32((np.float64(xs[i]) - x0d) * sx), g - 1)
        cy = min(np.int32((np.float64(ys[i]) - y0d) * sy), g - 1)
        cz = min(np.int32((np.float64(zs[i]) - z0d) * sz), g - 1)
        cell[i] = (cx * g + cy) * g + cz
    ncell = g * g * g
    cnt[:ncell] = 0
    for i in range(n):
        cnt[cell[i]] += 1
    nblk = 0
    bstart[0] = 0
    for c in range(ncell):
        n_c = cnt[c]
        if n_c > 0:
            blk[c] = nblk
            bcount[nblk] = 0
            bstart[nblk + 1] = bstart[nblk] + (n_c + _LANES -
                                               1) // _LANES * _LANES
            nblk += 1
    for i in range(n):
        k = blk[cell[i]]
        j = bstart[k] + bcount[k]
        bcount[k] += 1
        rx[j] = xs[i]
        ry[j] = ys[i]
        rz[j] = zs[i]
        ro[j] = i
    for k in range(nblk):
        lo = bstart[k]
        hi = lo + bcount[k]
        grid.bxl[k], grid.bxh[k] = _minmax(rx, lo, hi)
        grid.byl[k], grid.byh[k] = _minmax(ry, lo, hi)
        grid.bzl[k], grid.bzh[k] = _minmax(rz, lo, hi)
        for j in range(hi, bstart[k + 1]):
            rx[j] = grid.bxl[k]
            ry[j] = grid.byl[k]
            rz[j] = grid.bzl[k]
            ro[j] = n
    return nblk


@nb.njit(inline='always', **_JIT)
def _box_lower_bounds(cx, cy, cz, nblk, grid, lb):
    """lb[k] = bits of the squared distance from (cx, cy, cz) to box k of
    ``grid``."""
    bxl, bxh, byl = grid.bxl, grid.bxh, grid.byl
    byh, bzl, bzh = grid.byh, grid.bzl, grid.bzh
    zero = np.float32(0.0)
    for k in range(nblk):
        gx = bxl[k] - cx if cx < bxl[k] else (
            cx - bxh[k] if cx > bxh[k] else zero)
        gy = byl[k] - cy if cy < byl[k] else (
            cy - byh[k] if cy > byh[k] else zero)
        gz = bzl[k] - cz if cz < bzl[k] else (
            cz - bzh[k] if cz > bzh[k] else zero)
        lb[k] = _f2i(gx * gx + gy * gy + gz * gz)


@nb.njit(inline='always', **_JIT)
def _fps_update(rx, ry, rz, di, cx, cy, cz, lo, hi):
    """di[lo:hi] = min(di, |p - c|^2) (as bits); returns the new max."""
    x = rx[lo:hi]
    y = ry[lo:hi]
    z = rz[lo:hi]
    d = di[lo:hi]
    m = np.int32(-1)
    for i in range(hi - lo):
        dx = x[i] - cx
        dy = y[i] - cy
        dz = z[i] - cz
        v = min(d[i], _f2i(dx * dx + dy * dy + dz * dz))
        d[i] = v
        m = max(m, v)
    return m


@nb.njit(inline='always', **_JIT)
def _fps_argfind(di, ro, gm, lo, hi, best):
    """Lowest original index in [lo, hi) whose distance bits equal gm."""
    d = di[lo:hi]
    o = ro[lo:hi]
    for i in range(hi - lo):
        c = o[i] if d[i] == gm else best
        best = min(best, c)
    return best


@nb.njit(**_JIT)
def fps(xyz, num_samples, start_idx, near, out, b0, b1, per_cell):
    """Farthest point sampling of clouds b0..b1-1.

    Points with ``(x*x + y*y) + z*z <= near`` are never picked after the
    start (they hold ``_IMIN``, as padding); a step with no other point left
    picks index 0 (the reference pointnet2 kernel's rule).

    Args:
        xyz: (B, N, 3) float32, C-contiguous.
        num_samples: S.
        start_idx: first index of every cloud.
        near: float32 bound on the squared norm; < 0 skips no point.
        out: (B, S) int64, written for rows b0..b1-1.
        per_cell: target number of points per grid cell.
    """
    n = xyz.shape[1]
    grid = _new_cells(n, per_cell)
    rx, ry, rz, ro = grid.rx, grid.ry, grid.rz, grid.ro
    bstart, bcount = grid.bstart, grid.bcount
    di = np.empty(rx.shape[0], np.int32)
    bmax = np.empty(bcount.shape[0], np.int32)
    lb = np.empty(bcount.shape[0], np.int32)
    for b in range(b0, b1):
        nblk = _build_cells(xyz, b, grid)
        for k in range(nblk):
            lo = bstart[k]
            hi = lo + bcount[k]
            di[lo:hi] = _IINF
            di[hi:bstart[k + 1]] = _IMIN  # padding: never the maximum
            for j in range(lo, hi):
                if (rx[j] * rx[j] + ry[j] * ry[j]) + rz[j] * rz[j] <= near:
                    di[j] = _IMIN
            bmax[k] = _IINF
        far = start_idx
        for s in range(num_samples):
            out[b, s] = far
            cx = grid.xs[far]
            cy = grid.ys[far]
            cz = grid.zs[far]
            _box_lower_bounds(cx, cy, cz, nblk, grid, lb)
            gm = np.int32(-1)
            for k in range(nblk):
                if lb[k] < bmax[k]:
                    bmax[k] = _fps_update(rx, ry, rz, di, cx, cy, cz,
                                          bstart[k], bstart[k + 1])
                gm = max(gm, bmax[k])
            best = n if gm >= 0 else 0  # 0: no candidate left
            for k in range(nblk):
                if bmax[k] == gm and gm >= 0:
                    best = _fps_argfind(di, ro, gm, bstart[k], bstart[k + 1],
                                        best)
            far = best


@nb.njit(inline='always', **_JIT)
def _select_smallest(a, n, kth):
    """Quickselect: reorder a[:n] so that a[kth] is the (kth+1)-th smallest,
    a[:kth] <= a[kth] <= a[kth+1:n] (unique int64 keys)."""
    if kth == 0:  # k = 1 (Chamfer): a vectorised minimum
        v = a[:n]
        best = v[0]
        for i in range(n):
            best = min(best, v[i])
        for i in range(n):
            if v[i] == best:
                v[i] = v[0]
                v[0] = best
                break
        return
    lo = 0
    hi = n - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        # median of three as pivot
        x = a[lo]
        y = a[mid]
        z = a[hi]
        if x > y:
            x, y = y, x
        if y > z:
            y = z
            if x > y:
                y = x
        pivot = y
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                t = a[i]
                a[i] = a[j]
                a[j] = t
                i += 1
                j -= 1
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            break


@nb.njit(inline='always', **_JIT)
def _insertion_sort(a, n):
    """Sort a[:n] in place (small n)."""
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@nb.njit(inline='always', **_JIT)
def _block_keys(rx, ry, rz, ro, keys, cx, cy, cz, lo, hi):
    """keys[:hi-lo] = (distance bits << 32) | index for points [lo, hi)."""
    x = rx[lo:hi]
    y = ry[lo:hi]
    z = rz[lo:hi]
    o = ro[lo:hi]
    for i in range(hi - lo):
        dx = x[i] - cx
        dy = y[i] - cy
        dz = z[i] - cz
        keys[i] = (np.int64(_f2i(dx * dx + dy * dy + dz * dz)) << 32) | o[i]


@nb.njit(**_JIT)
def knn(query, ref, k, b0, b1, m0, m1, out_d, out_i, per_cell):
    """k nearest neighbours of queries m0..m1-1 of clouds b0..b1-1.

    Candidates are int64 keys ``(distance bits << 32) | index``: unique, and
    ordered exactly by (distance, index). The cells containing the query are
    taken whole, a quickselect keeps the k smallest keys and gives the
    threshold, then every other cell whose box is not farther than the
    threshold is scanned, keeping keys below the threshold (re-selecting
    whenever 2k candidates accumulate).

    Args:
        query: (B, M, 3) float32.
        ref: (B, N, 3) float32, C-contiguous.
        k: neighbours per query, 1 <= k <= N.
        out_d: (B, M, k) float32 squared distances, ascending.
        out_i: (B, M, k) int64 indices into ref, ties by lowest index.
        per_cell: target number of reference points per grid cell.
    """
    n = ref.shape[1]
    grid = _new_cells(n, per_cell)
    rx, ry, rz, ro = grid.rx, grid.ry, grid.rz, grid.ro
    bstart, bcount = grid.bstart, grid.bcount
    lb = np.empty(bcount.shape[0], np.int32)
    keys = np.empty(n, np.int64)
    cand = np.empty(n + 2 * k, np.int64)
    inf_key = np.int64(0x7FFFFFFFFFFFFFFF)
    for b in range(b0, b1):
        nblk = _build_cells(ref, b, grid)
        for m in range(m0, m1):
            cx = query[b, m, 0]
            cy = query[b, m, 1]
            cz = query[b, m, 2]
            _box_lower_bounds(cx, cy, cz, nblk, grid, lb)
            # 1) every cell whose box contains the query, taken whole
            c = 0
            for kb in range(nblk):
                if lb[kb] == 0:
                    lo = bstart[kb]
                    hi = lo + bcount[kb]
                    _block_keys(rx, ry, rz, ro, cand[c:], cx, cy, cz, lo, hi)
                    c += hi - lo
            thr = inf_key
            if c >= k:
                _select_smallest(cand, c, k - 1)
                c = k
                thr = cand[k - 1]
            # 2) the other cells that may still hold a neighbour
            for kb in range(nblk):
                if lb[kb] == 0 or np.int64(lb[kb]) > (thr >> 32):
                    continue
                lo = bstart[kb]
                hi = lo + bcount[kb]
                _block_keys(rx, ry, rz, ro, keys, cx, cy, cz, lo, hi)
                for i in range(hi - lo):  # branch-free compaction
                    key = keys[i]
                    cand[c] = key
                    c += np.int64(key < thr)
                if c >= 2 * k or (thr == inf_key and c >= k):
                    _select_smallest(cand, c, k - 1)
                    c = k
                    thr = cand[k - 1]
            if c > k:
                _select_smallest(cand, c, k - 1)
            _insertion_sort(cand, k)
            for j in range(k):
                key = cand[j]
                out_d[b, m, j] = _i2f(np.int32(key >> 32))
                out_i[b, m, j] = key & np.int64(0xFFFFFFFF)
