"""torch.from_numpy on the NumPy results as they come: a view with negative strides is refused."""

import torch

EXPECTED_FAILURES = ["test_wrapper_details"]


class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.pad = stride, pad
        x_np, w_np, b_np = (t.detach().numpy() for t in (x, w, b))
        y = conv2d_forward_fast(x_np, w_np, b_np, stride, pad)  # noqa: F821 (the notebook's)
        return torch.from_numpy(y)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        x_np, w_np = x.detach().numpy(), w.detach().numpy()
        grads = conv2d_backward_fast(dy.numpy(), x_np, w_np, ctx.stride, ctx.pad)  # noqa: F821
        dx, dw, db = (torch.from_numpy(g) for g in grads)
        return dx, dw, db, None, None
