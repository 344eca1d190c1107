"""A wrapper that differentiates with PyTorch: F.conv2d with gradients on, then autograd.grad of it.

gradcheck passes (PyTorch's gradient is right) and the network would train, but neither NumPy
function is ever called: the test that the gradient comes from conv2d_backward_fast fails, and so
does the training test, which requires a call to each in every forward and backward of the layer.
"""

import torch
import torch.nn.functional as F

EXPECTED_FAILURES = ["test_training", "test_wrapper_uses_your_code"]


class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        with torch.enable_grad():
            inputs = [t.detach().requires_grad_() for t in (x, w, b)]
            y = F.conv2d(*inputs, stride=stride, padding=pad)
        ctx.inputs, ctx.y = inputs, y
        return y.detach()

    @staticmethod
    def backward(ctx, dy):
        dx, dw, db = torch.autograd.grad(ctx.y, ctx.inputs, dy, retain_graph=True)
        return dx, dw, db, None, None
