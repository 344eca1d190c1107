"""backward returns the gradients in the wrong order: dw, dx, db instead of dx, dw, db."""

import numpy as np
import torch

EXPECTED_FAILURES = ["test_training", "test_wrapper_details", "test_wrapper_gradcheck",
                     "test_wrapper_uses_your_code"]


class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.pad = stride, pad
        x_np, w_np, b_np = (t.detach().numpy() for t in (x, w, b))
        y = conv2d_forward_fast(x_np, w_np, b_np, stride, pad)  # noqa: F821 (the notebook's)
        return torch.from_numpy(np.ascontiguousarray(y))

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        x_np, w_np = x.detach().numpy(), w.detach().numpy()
        grads = conv2d_backward_fast(dy.numpy(), x_np, w_np, ctx.stride, ctx.pad)  # noqa: F821
        dx, dw, db = (torch.from_numpy(np.ascontiguousarray(g)) for g in grads)
        return dw, dx, db, None, None
