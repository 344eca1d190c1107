"""Graded checks of notebook 09: dilation and groups in the backward pass, the transposed layer.

``conv2d_backward(dout, x, w, stride, pad, dilation, groups)`` returns ``(dx, dw, db)`` for
``x (N, C, H, W)`` and ``w (F, C // groups, KH, KW)``; output ``(n, f, i, j)`` reads
``x_pad[n, c, i*stride + u*dilation, j*stride + v*dilation]`` for the channels ``c`` of filter
``f``'s group only. ``conv_transpose2d_forward(x, w, stride, pad, output_padding)`` is the
gradient of a convolution with respect to its input, with ``x`` in the seat of ``dout``, and
``conv_transpose2d_backward(dout, x, w, ...)`` returns its ``(dx, dw)``.

The truth is PyTorch in float64 (:mod:`course.dilation_groups_reference`) with a random
upstream gradient; every case also prints the adjoint (dot-product) test against PyTorch's own
forward pass, ``<forward(x), dout> = <x, dx>``, which holds to round-off for a linear map and
its true gradient. Known wrong answers are named: dilation forgotten, confused with the stride
or applied to the input, groups ignored in ``dx``, a ``dw`` that is nonzero outside the group
blocks, an unrotated kernel, ``output_padding`` ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from course import dilation_groups_reference as ref
from course import multichannel_checks
from course.backward_checks import BACKWARD_TOL, PARTS, _needs, as_float64, unpack_gradients
from course.checks import CheckFailure, Misconception, call_student, compare, report
from course.dilation_groups_cases import (
    GroupedCase,
    TransposedCase,
    grouped_arrays,
    transposed_arrays,
)
from course.forward_checks import FORWARD_TOL

# Tolerances as in notebooks 03-06: gradients in float64 within 1e-9 of autograd (float32 is
# about 1e-7 off and fails; every named bug is off by order 1); the transposed forward pass within
# FORWARD_TOL = 1e-5 (float32 arithmetic passes there, each output sums at most C_in*KH*KW terms).
TRANSPOSE_PARTS = ("dx", "dw")
ADJOINT_OF = {"dx": "x", "dw": "w"}  # <forward(x, w), dout> = <x, dx> = <w, dw>


def adjoint_gap(forward_value: np.ndarray, dout: np.ndarray, arg: np.ndarray,
                grad: np.ndarray) -> float:
    """``|<forward, dout> - <arg, grad>|`` over ``|forward| |dout|``: about 1e-16 when right."""
    left, right = float(np.sum(forward_value * dout)), float(np.sum(arg * grad))
    scale = float(np.linalg.norm(forward_value) * np.linalg.norm(dout)) or 1.0
    return abs(left - right) / scale


# ---------------------------------------------------------------- wrong answers, modelled

def gather_backward(dout, x, w, pad, groups, at: Callable[[np.ndarray, int], np.ndarray]):
    """``(dx, dw)`` of a grouped convolution whose output ``i`` reads padded row ``at(i, u)``
    with kernel tap ``u`` (and the same for columns): ``at = i*stride + u*dilation`` is right.

    Raises ``ValueError`` when a read falls outside the padded input.
    """
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Hp, Wp = x_pad.shape[2:]
    xg = x_pad.reshape(N, groups, Cg, Hp, Wp)
    wg = w.reshape(groups, F // groups, Cg, KH, KW)
    dg = dout.reshape(N, groups, F // groups, HO, WO)
    dx_pad, dw = np.zeros(xg.shape), np.zeros(wg.shape)
    for u in range(KH):
        rows = at(np.arange(HO), u)
        for v in range(KW):
            cols = at(np.arange(WO), v)
            if min(rows.min(), cols.min()) < 0 or rows.max() >= Hp or cols.max() >= Wp:
                raise ValueError("this wrong answer reads outside the input here")
            index = (slice(None),) * 3 + (rows[:, None], cols[None, :])
            dw[..., u, v] = np.einsum("ngfij,ngcij->gfc", dg, xg[index])
            np.add.at(dx_pad, index, np.einsum("ngfij,gfc->ngcij", dg, wg[..., u, v]))
    dx = dx_pad.reshape(N, C, Hp, Wp)[:, :, pad:pad + H, pad:pad + W]
    return dx, dw.reshape(w.shape)


def _input_dilated(dout, x, w, stride, pad, dilation, groups):
    """Zeros inserted into the padded input instead of the kernel, read with an undilated one."""
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    x_dil = np.zeros((*x.shape[:2], *((n - 1) * dilation + 1 for n in x_pad.shape[2:])))
    x_dil[:, :, ::dilation, ::dilation] = x_pad
    dx_dil, dw = gather_backward(dout, x_dil, w, 0, groups, lambda i, u: i * stride + u)
    H, W = x.shape[2:]
    return dx_dil[:, :, ::dilation, ::dilation][:, :, pad:pad + H, pad:pad + W], dw


def _tiled(w: np.ndarray, groups: int) -> np.ndarray:
    """The kernel slice ``w[f, c']`` for every group's channel ``c'``: ``(F, C, KH, KW)``."""
    return np.concatenate([w] * groups, axis=1)


def _interleaved(C: int, groups: int) -> np.ndarray:
    """Channel order in which group ``g`` holds channels ``g, g + groups, ...``."""
    return np.arange(C).reshape(C // groups, groups).T.ravel()


def _dilation_misconceptions(part, dout, x, w, stride, pad, dilation, groups):
    index = TRANSPOSE_PARTS.index(part)

    def model(at):
        return lambda: gather_backward(dout, x, w, pad, groups, at)[index]

    needs_dilation = dilation > 1
    models = [
        ("dilation forgotten", lambda i, u: i * stride + u,
         f"dilation forgotten in {part}: tap (u, v) of the kernel reads x_pad at "
         "(i*stride + u*dilation, j*stride + v*dilation), dilation - 1 pixels between taps, not "
         "next to each other."),
        ("stride and dilation swapped", lambda i, u: i * dilation + u * stride,
         f"stride and dilation swapped in {part}: the stride moves the window between outputs "
         "(i*stride), the dilation spreads the kernel's taps inside one window (u*dilation)."),
        ("dilation applied to the input", lambda i, u: (i * stride + u) * dilation,
         f"your {part} reads x_pad at ((i*stride + u)*dilation, ...): the input scaled, not the "
         "kernel spread. Only the taps are spread: i*stride + u*dilation."),
    ]
    found = [Misconception(name, model(at), advice) for name, at, advice in models
             if needs_dilation]
    if needs_dilation:
        found.append(Misconception(
            "zeros put into the input", lambda: _input_dilated(
                dout, x, w, stride, pad, dilation, groups)[index],
            f"dilation applied to the input instead of the kernel: your {part} is what zeros "
            "inserted between the pixels of x_pad, read by an undilated kernel, give. Dilation "
            "puts the zeros into the kernel: tap (u, v) reads x_pad[i*stride + u*dilation, "
            "j*stride + v*dilation]."))
    return found


def _group_misconceptions(part, dout, x, w, stride, pad, dilation, groups):
    C = x.shape[1]
    truth = {"dx": 0, "dw": 1}[part]

    def dense(x_=x, w_=w, groups_=groups):
        return ref.conv2d_backward(dout, x_, w_, stride, pad, dilation, groups_)

    order = _interleaved(C, groups)
    back = np.argsort(order)
    found = [Misconception(
        "groups interleaved", lambda: (dense(x_=x[:, order])[0][:, back] if part == "dx"
                                       else dense(x_=x[:, order])[1]),
        f"your {part} takes every groups-th channel into a group; group g holds the contiguous "
        "channels g*C/groups ... (g+1)*C/groups - 1 and filters g*F/groups ... "
        "(g+1)*F/groups - 1.")]
    if part == "dx":
        found.append(Misconception(
            "groups ignored in dX", lambda: dense(w_=_tiled(w, groups), groups_=1)[truth],
            "groups ignored in dx: every filter sent its gradient to every input channel. With "
            "groups, filter f reads only the channels of its own group, so dx[n, c] sums "
            "full-xcorr(dY[n, f], rot180(W[f, c'])) over the filters f of c's group only."))
    else:
        dense_dw = dense(w_=_tiled(w, groups), groups_=1)[1]
        F, Cg = w.shape[:2]
        mask = np.kron(np.eye(groups), np.ones((F // groups, Cg)))[:, :, None, None]
        found += [
            Misconception("dW of the dense layer", lambda: dense_dw,
                          "dw is nonzero outside the group blocks: your dw is the dense layer's "
                          "(F, C, KH, KW) gradient. With groups, only the diagonal blocks are "
                          "parameters: dw has the shape of w, (F, C // groups, KH, KW), and "
                          "dw[f, c'] = X[c] ⋆ dY[f] for the channels c of f's group only."),
            Misconception("dW of the dense layer, blocks kept", lambda: dense_dw * mask,
                          "your dw is the block-diagonal F x C picture: keep only each filter's "
                          "own block, dw has the shape of w, (F, C // groups, KH, KW)."),
            Misconception("dW folded over the groups",
                          lambda: dense_dw.reshape(F, groups, Cg, *w.shape[2:]).sum(axis=1),
                          "dw is nonzero outside the group blocks: your dw[f, c'] adds the "
                          "gradients of channel c' of EVERY group. Filter f reads only its own "
                          "group's channels: dw[f, c'] = X[g*C/groups + c'] ⋆ dY[f], g = f's "
                          "group."),
            Misconception("dW from group 0's channels",
                          lambda: dense(x_=x[:, np.tile(np.arange(Cg), groups)])[1],
                          "every group's dw used the channels of group 0: group g's filters "
                          "read channels g*C/groups ... (g+1)*C/groups - 1."),
        ]
    return found


def _backward_misconceptions(part, dout, x, w, stride, pad, dilation, groups):
    if part == "db":
        return multichannel_checks.MISCONCEPTIONS["db"](dout, x, w, stride, pad)
    found = (_dilation_misconceptions(part, dout, x, w, stride, pad, dilation, groups)
             + (_group_misconceptions(part, dout, x, w, stride, pad, dilation, groups)
                if groups > 1 else []))
    if part == "dx":
        found.append(Misconception(
            "dX without the flip", lambda: ref.conv2d_backward(
                dout, x, w[..., ::-1, ::-1], stride, pad, dilation, groups)[0],
            "dX needs the dilated kernel rotated by 180 degrees in the full cross-correlation "
            "(equally: scatter dout[n, f, i, j] * w[f, c', u, v] into x_pad[i*stride + "
            "u*dilation, j*stride + v*dilation], upright)."))
    return found


# ---------------------------------------------------------------- the backward pass

def check_backward(conv2d_backward: Callable, cases: Iterable[GroupedCase],
                   parts: Iterable[str] = PARTS) -> None:
    """``conv2d_backward(dout, x, w, stride=, pad=, dilation=, groups=)`` must give autograd's
    ``parts`` of ``(dx, dw, db)`` on every case, and pass the adjoint test."""
    parts = tuple(parts)
    passed = []
    for case in cases:
        a = grouped_arrays(case, "dg-backward")
        label = case.describe()
        settings = {"stride": case.stride, "pad": case.pad, "dilation": case.dilation,
                    "groups": case.groups}
        result = call_student(conv2d_backward, a["dout"], a["x"], a["w"], **settings,
                              label=label)
        got = unpack_gradients(result, conv2d_backward, label)
        truth = dict(zip(PARTS, ref.conv2d_backward(a["dout"], a["x"], a["w"], **settings),
                         strict=True))
        out = ref.conv2d(a["x"], a["w"], **settings)
        errors = []
        for part in parts:
            value = as_float64(part, got[part], label)
            if part in multichannel_checks.SLICE_AXES and value.shape == truth[part].shape:
                if np.abs(value - truth[part]).max() > BACKWARD_TOL * np.abs(truth[part]).max():
                    multichannel_checks.print_slice_errors(part, value, truth[part])
            error = compare(part, value, truth[part], label, BACKWARD_TOL,
                            _backward_misconceptions(part, a["dout"], a["x"], a["w"],
                                                     **settings))
            gap = (f", adjoint {adjoint_gap(out, a['dout'], a[ADJOINT_OF[part]], value):.0e}"
                   if part != "db" else "")
            errors.append(f"{part} {error:.1e}{gap}")
        passed.append(f"{label}: relative error " + ", ".join(errors))
    report(passed, f"PyTorch's autograd in {', '.join(parts)} (float64, relative error <= "
                   f"{BACKWARD_TOL:g}; adjoint: <conv(x, w), dout> = <x, dx> = <w, dw>)")


# ---------------------------------------------------------------- the transposed layer

def _transpose_forward_misconceptions(x, w, stride, pad, output_padding):
    def torch_t(**change):
        args = {"x": x, "w": w, "stride": stride, "pad": pad,
                "output_padding": output_padding} | change
        return lambda: ref.conv_transpose2d(**args)

    def not_cropped():
        return ref.conv_transpose2d(x, w, stride, 0, output_padding)

    def channels_swapped():
        _needs(w.shape[0] == w.shape[1])
        return ref.conv_transpose2d(x, w.transpose(1, 0, 2, 3).copy(), stride, pad,
                                    output_padding)

    return [
        Misconception("unrotated kernel", torch_t(w=w[..., ::-1, ::-1]),
                      "your output uses the kernel unrotated: as a gather (a full correlation "
                      "of the zero-dilated x), the transposed convolution needs rot180(w); as a "
                      "scatter, each x[n, c_in, i, j] * w[c_in, c_out] is added upright at "
                      "(i*stride - pad, j*stride - pad)."),
        Misconception("output_padding ignored", torch_t(output_padding=0),
                      "output_padding ignored: the output has (H - 1)*stride - 2*pad + KH + "
                      "output_padding rows. Allocate the uncropped output with output_padding "
                      "more rows and columns at the bottom and right (no input pixel reaches "
                      "them), then crop pad from every side."),
        Misconception("output_padding on both sides",
                      lambda: np.pad(ref.conv_transpose2d(x, w, stride, pad, 0),
                                     ((0, 0), (0, 0), (output_padding, output_padding),
                                      (output_padding, output_padding))),
                      "output_padding goes at the bottom and right only, once."),
        Misconception("padding not cropped", not_cropped,
                      "in a transposed convolution pad CROPS the output (it undoes the padding "
                      "of the convolution it transposes): cut pad rows and columns from every "
                      "side, out = full[:, :, pad:pad + HO, pad:pad + WO]."),
        Misconception("stride ignored", torch_t(stride=1, output_padding=0),
                      "stride ignored: input pixel (i, j) lands at (i*stride, j*stride) of the "
                      "output (the input dilated with stride - 1 zeros)."),
        Misconception("w read as (C_out, C_in)", channels_swapped,
                      "the transposed convolution's w is (C_in, C_out, KH, KW), input channels "
                      "first (the w of the convolution it transposes, unchanged)."),
    ]


def check_transpose_forward(conv_transpose2d_forward: Callable,
                            cases: Iterable[TransposedCase]) -> None:
    """``conv_transpose2d_forward(x, w, stride=, pad=, output_padding=)`` must match PyTorch's
    ``conv_transpose2d`` on every case; the adjoint test against the convolution is printed."""
    passed = []
    for case in cases:
        a = transposed_arrays(case, "transpose-forward")
        label = case.describe()
        settings = {"stride": case.stride, "pad": case.pad, "output_padding": case.output_padding}
        got = call_student(conv_transpose2d_forward, a["x"], a["w"], **settings, label=label)
        expected = ref.conv_transpose2d(a["x"], a["w"], **settings)
        error = compare("the output", got, expected, label, FORWARD_TOL,
                        _transpose_forward_misconceptions(a["x"], a["w"], **settings))
        conv_of_dout = ref.conv2d(a["dout"], a["w"], stride=case.stride, pad=case.pad)
        gap = adjoint_gap(np.asarray(got), a["dout"], a["x"], conv_of_dout)
        passed.append(f"{label}: out {expected.shape}, relative error {error:.1e}, adjoint "
                      f"<yours(x), g> = <x, conv2d(g, w)> to {gap:.0e}")
    report(passed, f"PyTorch's conv_transpose2d in float64 (relative error <= {FORWARD_TOL:g})")


def _transpose_backward_misconceptions(part, dout, x, w, stride, pad, output_padding):
    def truth(dout_=dout, x_=x, w_=w):
        return ref.conv_transpose2d_backward(dout_, x_, w_, stride, pad, output_padding)

    def unpadded():
        _needs(pad > 0)
        shifted = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))[..., 2 * pad:, 2 * pad:]
        return truth(dout_=shifted)[1]

    if part == "dx":
        return [
            Misconception("dx with the rotated kernel", lambda: truth(w_=w[..., ::-1, ::-1])[0],
                          "dx of a transposed convolution is the plain convolution of dout with "
                          "w (your forward pass of notebook 05, stride and pad included): no "
                          "rotation."),
            Misconception("dx averaged over the batch", lambda: truth()[0] / x.shape[0],
                          "each example has its own dx: nothing is averaged over the batch."),
        ]
    return [
        Misconception("dw rotated", lambda: truth()[1][..., ::-1, ::-1],
                      "dw needs no rotation: dw[c_in, c_out, u, v] = sum over n, i, j of "
                      "x[n, c_in, i, j] * dout_pad[n, c_out, i*stride + u, j*stride + v]."),
        Misconception("dw as (C_out, C_in)", lambda: truth()[1].transpose(1, 0, 2, 3),
                      "dw has the shape of w, (C_in, C_out, KH, KW): input channels first."),
        Misconception("dw averaged over the batch", lambda: truth()[1] / x.shape[0],
                      "dw sums the examples' contributions, it does not average them."),
        Misconception("dw without the padding", unpadded,
                      "dw must read dout padded by pad on every side (the pad the transposed "
                      "convolution cropped): dout_pad[n, c_out, i*stride + u, j*stride + v]."),
    ]


def check_transpose_backward(conv_transpose2d_backward: Callable,
                             cases: Iterable[TransposedCase],
                             parts: Iterable[str] = TRANSPOSE_PARTS) -> None:
    """``conv_transpose2d_backward(dout, x, w, stride=, pad=, output_padding=)`` must give
    autograd's ``(dx, dw)`` (the listed parts), and pass the adjoint test."""
    parts = tuple(parts)
    passed = []
    for case in cases:
        a = transposed_arrays(case, "transpose-backward")
        label = case.describe()
        settings = {"stride": case.stride, "pad": case.pad, "output_padding": case.output_padding}
        result = call_student(conv_transpose2d_backward, a["dout"], a["x"], a["w"], **settings,
                              label=label)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailure(f"conv_transpose2d_backward should return a tuple (dx, dw), got "
                               f"{type(result).__name__} (on {label}).")
        truth = ref.conv_transpose2d_backward(a["dout"], a["x"], a["w"], **settings)
        out = ref.conv_transpose2d(a["x"], a["w"], **settings)
        errors = []
        for part in parts:
            index = TRANSPOSE_PARTS.index(part)
            value = as_float64(part, result[index], label)
            error = compare(part, value, truth[index], label, BACKWARD_TOL,
                            _transpose_backward_misconceptions(part, a["dout"], a["x"], a["w"],
                                                               **settings))
            gap = adjoint_gap(out, a["dout"], a[ADJOINT_OF[part]], value)
            errors.append(f"{part} {error:.1e}, adjoint {gap:.0e}")
        passed.append(f"{label}: relative error " + ", ".join(errors))
    report(passed, f"PyTorch's autograd of conv_transpose2d in {', '.join(parts)} (float64, "
                   f"relative error <= {BACKWARD_TOL:g})")
