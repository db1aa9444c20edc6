"""Masked autoencoder (He et al. 2022, https://arxiv.org/abs/2111.06377): the ViT encoder that sees only
the visible patches and the light decoder that predicts every patch's pixels.

The modules keep the names of the authors' code (``blocks.N.attn.qkv``, ``decoder_pred`` …), so their
published checkpoint loads without renaming. The method around it (masks, patches, the loss, the paper's
four panels) is in :mod:`cvviz.selfsupervised.mae`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VitShape:
    """The size of a plain ViT: patch side, token width, depth, heads, and the input side it is built for."""

    patch_size: int
    hidden: int
    depth: int
    heads: int
    image_size: int = 224
    mlp_ratio: int = 4

    @property
    def grid(self) -> int:
        """Patches along one side."""
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid**2


class Attention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection (the authors' and timm's layout)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """A pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


def sincos_position_embedding(dim: int, grid: int) -> torch.Tensor:
    """The fixed 2-D sine-cosine position embedding MAE uses, class token (zeros) first: (1, 1+grid², dim)."""
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    coords = torch.arange(grid, dtype=torch.float64)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")

    def embed(positions: torch.Tensor) -> torch.Tensor:
        angles = positions.reshape(-1, 1) * omega
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    table = torch.cat([embed(xs), embed(ys)], dim=1)
    return torch.cat([torch.zeros(1, dim, dtype=torch.float64), table]).float().unsqueeze(0)


class MaskedAutoencoder(nn.Module):
    """MAE's encoder and decoder, with the authors' parameter names.

    ``forward(images, mask)`` takes (N, 3, H, W) normalised images and a boolean mask of L patches
    (True = hidden, the same for the whole batch) and returns the predicted patches (N, L, p·p·3).
    """

    def __init__(self, encoder: VitShape, decoder: VitShape | None = None) -> None:
        super().__init__()
        decoder = decoder or encoder
        self.patch_size = encoder.patch_size
        self.grid = encoder.grid
        self.patch_embed = PatchEmbed(encoder.patch_size, encoder.hidden)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, encoder.hidden))
        self.pos_embed = nn.Parameter(
            sincos_position_embedding(encoder.hidden, encoder.grid), requires_grad=False
        )
        self.blocks = nn.ModuleList(
            Block(encoder.hidden, encoder.heads, encoder.mlp_ratio) for _ in range(encoder.depth)
        )
        self.norm = nn.LayerNorm(encoder.hidden, eps=1e-6)
        self.decoder_embed = nn.Linear(encoder.hidden, decoder.hidden)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder.hidden))
        self.decoder_pos_embed = nn.Parameter(
            sincos_position_embedding(decoder.hidden, encoder.grid), requires_grad=False
        )
        self.decoder_blocks = nn.ModuleList(
            Block(decoder.hidden, decoder.heads, decoder.mlp_ratio) for _ in range(decoder.depth)
        )
        self.decoder_norm = nn.LayerNorm(decoder.hidden, eps=1e-6)
        self.decoder_pred = nn.Linear(decoder.hidden, encoder.patch_size**2 * 3)

    @property
    def num_patches(self) -> int:
        return self.grid**2

    def encode(self, images: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """The class token and the ``visible`` patches (indices, ascending), encoded: (N, 1+V, D)."""
        x = self.patch_embed(images) + self.pos_embed[:, 1:]
        x = x[:, visible]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def decode(self, latent: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Every patch's pixels from the visible patches' encodings: (N, L, p·p·3)."""
        x = self.decoder_embed(latent)
        n, dim = x.shape[0], x.shape[-1]
        tokens = self.mask_token.expand(n, self.num_patches, dim).clone()
        tokens[:, visible] = x[:, 1:]
        x = torch.cat([x[:, :1], tokens], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        visible = torch.nonzero(~mask.reshape(-1).bool(), as_tuple=False).reshape(-1).to(images.device)
        return self.decode(self.encode(images, visible), visible)
