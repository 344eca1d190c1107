"""Sandbox: the kernel's jail (bubblewrap, limits, seccomp) and its warm zygote."""
