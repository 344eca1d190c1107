"""Correct: NumPy copies kept as ctx attributes (no save_for_backward); honours needs_input_grad."""

import numpy as np
import torch

EXPECTED_FAILURES = []


class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        ctx.x_np, ctx.w_np = x.detach().numpy().copy(), w.detach().numpy().copy()
        ctx.stride, ctx.pad, ctx.dtype = stride, pad, x.dtype
        b_np = b.detach().numpy()
        y = conv2d_forward_fast(ctx.x_np, ctx.w_np, b_np, stride, pad)  # noqa: F821
        return torch.tensor(np.array(y), dtype=x.dtype)

    @staticmethod
    def backward(ctx, dy):
        dy_np = dy.detach().numpy()
        grads = conv2d_backward_fast(dy_np, ctx.x_np, ctx.w_np, ctx.stride, ctx.pad)  # noqa: F821
        dx, dw, db = (torch.tensor(np.array(g), dtype=ctx.dtype) if needed else None
                      for g, needed in zip(grads, ctx.needs_input_grad[:3], strict=True))
        return dx, dw, db, None, None
