"""No NumPy layer; a wrapper that runs F.conv2d while its NumPy functions are the originals (`is`).

The red team's trick: Conv2dFunction keeps references to the two NumPy functions and calls them
only when a test has put something else under their names (stand-ins, spies); with the originals
in place it computes with F.conv2d and lets autograd differentiate. The wrapper tests pass, as for
an honest wrapper; the training test puts its own pass-throughs under the names, so the unwritten
NumPy layer runs there and fails.
"""

import numpy as np
import torch
import torch.nn.functional as F

EXPECTED_FAILURES = ["test_training"]


def conv2d_forward_fast(x, w, b, stride=1, pad=0):
    raise NotImplementedError()


def conv2d_backward_fast(dout, x, w, stride=1, pad=0):
    raise NotImplementedError()


class Conv2dFunction(torch.autograd.Function):
    originals = (conv2d_forward_fast, conv2d_backward_fast)

    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.pad = stride, pad
        if conv2d_forward_fast is Conv2dFunction.originals[0]:
            return F.conv2d(x, w, b, stride=stride, padding=pad)
        y = conv2d_forward_fast(x.detach().numpy(), w.detach().numpy(), b.detach().numpy(),
                                stride, pad)
        return torch.from_numpy(np.ascontiguousarray(y)).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        if conv2d_backward_fast is Conv2dFunction.originals[1]:
            with torch.enable_grad():
                x_, w_ = x.detach().requires_grad_(), w.detach().requires_grad_()
                b_ = torch.zeros(w.shape[0], dtype=w.dtype, requires_grad=True)
                y = F.conv2d(x_, w_, b_, stride=ctx.stride, padding=ctx.pad)
                return (*torch.autograd.grad(y, (x_, w_, b_), dy), None, None)
        grads = conv2d_backward_fast(dy.detach().numpy(), x.detach().numpy(), w.detach().numpy(),
                                     ctx.stride, ctx.pad)
        return (*(torch.from_numpy(np.ascontiguousarray(g)).to(x.dtype) for g in grads), None,
                None)
