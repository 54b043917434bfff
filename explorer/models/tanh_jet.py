"""Jets (orders ≤ 2) through a tanh MLP: the reference rule and a fused autograd node.

The hottest code of PINN training: a Burgers step pushes u, uₓ, uₓₓ and uₜ through
every layer at thousands of points. :func:`tanh_mlp_jet` does it in one
``torch.autograd.Function`` whose backward pass is written out below. Why by hand:
autograd records about 12 nodes per layer and its backward runs about 20
elementwise passes over the layer's activations (each product is differentiated on
both sides, each reused tensor gets its gradients added); the closed form needs 11
and saves fewer tensors. Under ``torch.func`` transforms (the Hessian and NTK
diagnostics) and for second derivatives through the backward pass it falls back to
:func:`reference_tanh_mlp_jet`, the same arithmetic recorded by autograd. One case
keeps the closed form: a single ``vmap`` over weights with no graph (a loss
landscape's grid points), where the same forward runs batched, about 2.7x cheaper.

A tanh layer with pre-activation z and, along each direction, z′ and z″:
    t = tanh z,  s = 1 − t² = σ′,  y = t,  y′ = s z′,  y″ = s (z″ − 2 t z′²)
(σ″ = −2tσ′ factored). Given the output gradients ḡ, ḡ′, ḡ″:
    ∂z″ = s ḡ″,  ∂z′ = s (ḡ′ − 4 t z′ ḡ″),
    ∂z = s (ḡ − 2 s z′² ḡ″ − 2t Σ (ḡ′ z′ + ḡ″ (z″ − 2 t z′²))).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from explorer.autodiff import Jet, input_jet, jet_linear

__all__ = ["reference_tanh_mlp_jet", "tanh_mlp_jet"]

Layers = Sequence[tuple[Tensor, Tensor]]  # (weight, bias) per layer, last one linear


def _fusable() -> bool:
    """Whether the fused node may run: not under ``torch.func`` transforms, whose
    wrapped tensors need every op recorded."""
    return torch._C._functorch.peek_interpreter_stack() is None


def _vmap_only() -> bool:
    """Whether one ``torch.func.vmap`` is the only transform and nothing records a
    graph: a loss landscape evaluates the loss at a batch of weights this way, and
    the batched forward of :class:`_VmappedTanhJet` may then run. (Nested vmaps
    take the recorded rule: the forward writes into slices, which vmap forbids.)"""
    if torch.is_grad_enabled() or _fusable():
        return False
    try:  # a private helper: if it moves, the recorded rule still works
        from torch._C._functorch import TransformType
        from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters
    except ImportError:
        return False
    levels = retrieve_all_functorch_interpreters()
    return len(levels) == 1 and levels[0].key() == TransformType.Vmap


def _stack(series: dict[int, list[Tensor]], firsts: tuple, m2: int) -> list[Tensor]:
    """The channels in stacked order: first derivatives along ``firsts`` (the
    ``m2`` second-order directions lead), then those directions' second ones."""
    return [series[i][0] for i in firsts] + [series[i][1] for i in firsts[:m2]]


def _unstack(channels: Tensor, firsts: tuple, m2: int) -> dict[int, list[Tensor]]:
    """:func:`_stack` undone: each direction's derivatives from ``(C, ...)``."""
    series = {i: [channels[c]] for c, i in enumerate(firsts)}
    for c, i in enumerate(firsts[:m2]):
        series[i].append(channels[len(firsts) + c])
    return series


def _tanh_jet(z: Jet) -> Jet:
    """tanh of a jet: y′ = s z′ and y″ = s (z″ − 2 t z′²), 8 elementwise ops per
    layer for Burgers' directions instead of the generic rule's 11."""
    t = torch.tanh(z.value)
    s1 = 1 - t * t
    series = {}
    for i, a in z.series.items():
        out = [s1 * a[0]]
        if len(a) > 1:
            out.append(s1 * torch.addcmul(a[1], t * a[0], a[0], value=-2.0))
        series[i] = out
    return Jet(t, series)


def _tanh_first_layer(jet: Jet, weight: Tensor, bias: Tensor) -> Jet:
    """:func:`_tanh_jet` of the first layer on raw inputs (an identity jet): z′ is
    the column W[:, i] on every point and z″ = 0, so no matmul for the derivatives."""
    t = torch.tanh(torch.nn.functional.linear(jet.value, weight, bias))
    s1 = 1 - t * t
    series = {}
    for i, a in jet.series.items():
        w = weight[:, i]
        out = [s1 * w]
        if len(a) > 1:
            out.append(s1 * ((t * w) * (-2.0 * w)))
        series[i] = out
    return Jet(t, series)


def reference_tanh_mlp_jet(jet: Jet, layers: Layers) -> Jet:
    """The jet through tanh layers and a final linear layer, recorded by autograd."""
    *hidden, (w_last, b_last) = layers
    if jet.identity and hidden:
        jet = _tanh_first_layer(jet, *hidden[0])
        hidden = hidden[1:]
    for w, b in hidden:
        jet = _tanh_jet(jet_linear(jet, w, b))
    return jet_linear(jet, w_last, b_last)


def tanh_mlp_jet(jet: Jet, layers: Layers) -> Jet:
    """:func:`reference_tanh_mlp_jet` as one autograd node (orders ≤ 2), or that
    rule itself under ``torch.func`` transforms.

    The derivative channels travel stacked, ``(C, n, width)``: first derivatives
    along the second-order directions, then along the first-order ones, then the
    second derivatives. Each linear map is then one matmul for all channels, and
    each rule of the header one op, whatever the number of directions.
    """
    orders = jet.series
    if any(len(s) > 2 for s in orders.values()):
        raise ValueError("fused tanh jets go up to second order; allowed: 1 or 2")
    batched = _vmap_only()
    if not (batched or _fusable()):
        return reference_tanh_mlp_jet(jet, layers)
    two = tuple(i for i, s in orders.items() if len(s) == 2)
    firsts = two + tuple(i for i, s in orders.items() if len(s) == 1)
    params = [p for layer in layers for p in layer]
    if jet.identity or not firsts:
        stacked = jet.value.new_empty(0)  # identity: e_i and 0, the rule knows them
    else:
        stacked = torch.stack(_stack(orders, firsts, len(two)))
    structure = (firsts, len(two), jet.identity, len(layers))
    node = _VmappedTanhJet if batched else _FusedTanhJet
    value, channels = node.apply(structure, jet.value, stacked, *params)
    series = _unstack(channels, firsts, len(two))
    return Jet(value, {i: series[i] for i in orders})


def _forward(
    structure: tuple, x: Tensor, stacked: Tensor, params: Sequence[Tensor]
) -> tuple[Tensor, Tensor, list[tuple], tuple[Tensor, Tensor]]:
    """The jet's value ``(..., n, out)`` and channels ``(..., C, n, out)``, with
    what the backward pass reads per tanh layer and of the last layer's input.

    Any tensor may carry leading batch dims (a batch of weights from
    :class:`_VmappedTanhJet`); matmul and the elementwise rules broadcast over them.
    """
    firsts, m2, identity, n_layers = structure
    m, n = len(firsts), x.shape[-2]
    a, d = x, stacked  # value (..., n, k) and channels (..., C, n, k)
    saved = []  # per tanh layer: what its backward reads
    for j in range(n_layers - 1):
        w, b = params[2 * j], params[2 * j + 1]
        wt = w.transpose(-1, -2)
        first = identity and j == 0
        t = torch.tanh_(_affine(a, wt, b))
        s = 1 - t * t
        lead, width = t.shape[:-2], t.shape[-1]
        tz = zq = pair = None
        if not m:
            y = t.new_empty((*lead, 0, n, width))
        elif first:  # z′ = W[:, i] on every point, z″ = 0
            z1 = wt[..., list(firsts), :].unsqueeze(-2)  # (..., m, 1, width)
            y = t.new_empty((*lead, m + m2, n, width))
            torch.mul(z1, s.unsqueeze(-3), out=y[..., :m, :, :])
            q = None
            if m2:
                tz = t.unsqueeze(-3) * z1[..., :m2, :, :]
                q = tz * (-2.0 * z1[..., :m2, :, :])
                torch.mul(q, s.unsqueeze(-3), out=y[..., m:, :, :])
            pair = (z1, q)
        else:  # z″ becomes z″ − 2 t z′² in place: then y = s z for every channel
            zq = _channels_matmul(d, wt)  # (..., C, n, width)
            if m2:
                tz = t.unsqueeze(-3) * zq[..., :m2, :, :]
                zq[..., m:, :, :].addcmul_(tz, zq[..., :m2, :, :], value=-2.0)
            y = zq * s.unsqueeze(-3)
        saved.append((a, d, t, s, zq, pair, tz, y[..., :m2, :, :]))
        a, d = t, y
    w, b = params[-2], params[-1]
    wt = w.transpose(-1, -2)
    value = _affine(a, wt, b)
    channels = _channels_matmul(d, wt)
    return value, channels, saved, (a, d)


def _affine(a: Tensor, wt: Tensor, b: Tensor) -> Tensor:
    """``a @ wt + b``; one fused addmm when nothing is batched (training)."""
    if a.dim() == 2 and wt.dim() == 2:
        return torch.addmm(b, a, wt)
    return torch.matmul(a, wt).add_(b.unsqueeze(-2))


def _channels_matmul(d: Tensor, wt: Tensor) -> Tensor:
    """``d @ wt`` for channels ``(..., C, n, k)``: one matmul over all C·n rows (a
    broadcast over C would run C small ones)."""
    return torch.matmul(d.flatten(-3, -2), wt).unflatten(-2, d.shape[-3:-1])


class _FusedTanhJet(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, structure: tuple, x: Tensor, stacked: Tensor, *params: Tensor
    ) -> tuple[Tensor, Tensor]:
        value, channels, saved, last = _forward(structure, x, stacked, params)
        ctx.structure = structure
        ctx.layers = saved
        ctx.last = last
        ctx.save_for_backward(x, stacked, *params)
        return value, channels

    @staticmethod
    def backward(ctx: Any, g_value: Tensor, g_channels: Tensor) -> tuple:
        firsts, m2, identity, n_layers = ctx.structure
        x, stacked, *params = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: a graph of the gradient is wanted
            return (
                None,
                *_recorded_backward(
                    ctx.structure, x, stacked, params, g_value, g_channels
                ),
            )
        m = len(firsts)
        needs = ctx.needs_input_grad
        grads: list[Tensor | None] = [None] * len(params)
        g, gd = g_value, g_channels  # gradients of the layer's output jet
        a, d = ctx.last
        for j in reversed(range(n_layers)):
            w = params[2 * j]
            first = identity and j == 0
            if j < n_layers - 1:
                a, d, t, s, zq, pair, tz, y2 = ctx.layers[j]
                g, gd = _tanh_backward(g, gd, t, s, zq, pair, tz, y2, m, m2)
            gw = torch.mm(g.t(), a)
            if first:  # z′ = W[:, i]: each row adds its channel's gradient
                gw.t()[list(firsts)] += gd[:m].sum(1)
            elif m:
                gw.addmm_(gd.reshape(-1, gd.shape[-1]).t(), d.reshape(-1, d.shape[-1]))
            grads[2 * j], grads[2 * j + 1] = gw, g.sum(0)
            if j == 0 and not (needs[1] or needs[2]):
                break
            gd = torch.mm(gd.reshape(-1, len(w)), w).view(m + m2, len(g), w.shape[1])
            g = torch.mm(g, w)
        g_x = g if needs[1] else None
        g_stacked = gd if needs[2] and not identity else None
        return (None, g_x, g_stacked, *grads)


def _tanh_backward(
    g: Tensor,
    gd: Tensor,
    t: Tensor,
    s: Tensor,
    zq: Tensor | None,
    pair: tuple[Tensor, Tensor | None] | None,
    tz: Tensor | None,
    y2: Tensor,
    m: int,
    m2: int,
) -> tuple[Tensor, Tensor]:
    """Gradients of a tanh layer's pre-activation jet from its output jet's.

    ``zq`` stacks z′ and q = z″ − 2 t z′² (∂y/∂s for every channel); the first
    layer on raw inputs keeps them apart in ``pair``, its z′ being W's columns.
    """
    if not m:
        return g * s, gd
    gz = gd * s
    if m2:  # ∂z′ gains −4 s t z′ ḡ″ along second-order directions
        gz[:m2].addcmul_(tz * gd[m:], s, value=-4.0)
    if zq is not None:
        g_s, z1 = (gd * zq).sum(0), zq[:m]
    else:
        z1, q = pair
        g_s = (gd[:m] * z1).sum(0)
        if m2:
            g_s += (gd[m:] * q).sum(0)
    if m2:  # ∂t, holding s: −2 s z′² ḡ″ = −2 (ḡ″ z′)(s z′), and s z′ is y′
        g = torch.add(g, (gd[m:] * z1[:m2] * y2).sum(0), alpha=-2.0)
    return torch.addcmul(g, g_s, t, value=-2.0) * s, gz


def _recorded_backward(
    structure: tuple,
    x: Tensor,
    stacked: Tensor,
    params: Sequence[Tensor],
    g_value: Tensor,
    g_channels: Tensor,
) -> list[Tensor | None]:
    """The backward pass recorded by autograd (for Hessians by double backward):
    recompute the jet by the reference rule and differentiate it with a graph."""
    firsts, m2, identity, n_layers = structure
    if identity:
        jet = input_jet(x, {i: 2 if c < m2 else 1 for c, i in enumerate(firsts)})
    else:
        jet = Jet(x, _unstack(stacked, firsts, m2))
    layers = [(params[2 * j], params[2 * j + 1]) for j in range(n_layers)]
    inputs = [x, stacked, *params]
    with torch.enable_grad():
        out = reference_tanh_mlp_jet(jet, layers)
        outs = [out.value, *_stack(out.series, firsts, m2)]
        g_outs = [g_value, *g_channels.unbind(0)]
        wanted = [k for k, v in enumerate(inputs) if v.requires_grad]
        got = torch.autograd.grad(
            outs,
            [inputs[k] for k in wanted],
            g_outs,
            create_graph=True,
            allow_unused=True,
            materialize_grads=True,
        )
    result: list[Tensor | None] = [None] * len(inputs)
    for k, grad in zip(wanted, got):
        result[k] = grad
    return result


class _VmappedTanhJet(torch.autograd.Function):
    """:func:`_forward` for a batch of weights under ``torch.func.vmap`` with no
    graph recorded (a loss landscape's grid points): the batch dims become leading
    dims of one set of matmuls and elementwise ops. The recorded rule under vmap
    took 3.5 ms a landscape point against 1.2–1.3; nothing differentiates through it."""

    generate_vmap_rule = False

    @staticmethod
    def forward(
        structure: tuple, x: Tensor, stacked: Tensor, *params: Tensor
    ) -> tuple[Tensor, Tensor]:
        value, channels, _, _ = _forward(structure, x, stacked, params)
        return value, channels

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        pass

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple:
        raise RuntimeError("the vmapped tanh jet is for evaluation without a graph")

    @staticmethod
    def vmap(
        info: Any,
        in_dims: tuple,
        structure: tuple,
        x: Tensor,
        stacked: Tensor,
        *params: Tensor,
    ) -> tuple[tuple[Tensor, Tensor], tuple[int, int]]:
        # Batch dims go first; unbatched tensors broadcast against them as they are.
        _, dx, ds, *dp = in_dims
        x, stacked, *params = (
            t if d is None else t.movedim(d, 0)
            for t, d in zip((x, stacked, *params), (dx, ds, *dp))
        )
        value, channels = _blocked(structure, x, stacked, params)
        size = info.batch_size
        value = value.expand(size, *value.shape[1:])
        channels = channels.expand(size, *channels.shape[1:])
        return (value, channels), (0, 0)


#: Bytes of one activation tensor per block of points in :func:`_blocked`: the
#: batched tensors then stay in a 2 MB L2 cache (41 x 41 Burgers plane: 1.1–1.3 ms
#: a point in blocks of 512 KiB, 2.0–2.4 ms unblocked).
_BLOCK_BYTES = 1 << 19


def _blocked(
    structure: tuple, x: Tensor, stacked: Tensor, params: Sequence[Tensor]
) -> tuple[Tensor, Tensor]:
    """:func:`_forward` over blocks of points small enough to stay in cache (rows
    of a jet do not interact). Unblocked, a chunk of 32 weight sets makes 25 MB
    tensors: every op streams them from memory and allocates fresh pages."""
    weights = params[::2]
    lead = max(t.shape[0] if t.dim() == 3 else 1 for t in (x, *weights))
    width = max(w.shape[-2] for w in weights)
    channels = 1 + len(structure[0]) + structure[1]
    per_point = lead * channels * width * x.element_size()
    block = max(64, _BLOCK_BYTES // per_point)
    n = x.shape[-2]
    if n <= block:
        return _forward(structure, x, stacked, params)[:2]
    values, chans = [], []
    for i in range(0, n, block):
        xs = x[..., i : i + block, :]
        ss = stacked[..., i : i + block, :] if stacked.numel() else stacked
        v, c, _, _ = _forward(structure, xs, ss, params)
        values.append(v)
        chans.append(c)
    return torch.cat(values, -2), torch.cat(chans, -2)
