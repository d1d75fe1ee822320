"""A character-level language model of names: a small MLP over the previous characters.

    python train.py --input-file names.txt --work-dir out --max-steps 60

The shape of a well-known public script (makemore) that knows nothing of magelab:
its own argparse flags with hyphens, its own --work-dir for outputs, TensorBoard
scalars through torch.utils.tensorboard, progress lines on stdout and a checkpoint.
TestAdoptRealClient runs it, unchanged, through magelab in a repository of its own.
"""

import argparse
import os
import time

import torch
import torch.nn as nn
from torch.nn import functional as F
from torch.utils.tensorboard import SummaryWriter


class CharDataset:
    """Every name as a row of character ids: the input is the name after a start
    token, the target the name followed by the end token (0)."""

    def __init__(self, words, chars, max_word_length):
        self.words = words
        self.chars = chars
        self.max_word_length = max_word_length
        self.stoi = {ch: i + 1 for i, ch in enumerate(chars)}

    def vocab_size(self):
        return len(self.chars) + 1

    def block_size(self):
        return self.max_word_length + 1

    def tensors(self):
        n, b = len(self.words), self.block_size()
        x = torch.zeros(n, b, dtype=torch.long)
        y = torch.full((n, b), -1, dtype=torch.long)
        for i, w in enumerate(self.words):
            ix = torch.tensor([self.stoi[c] for c in w], dtype=torch.long)
            x[i, 1 : 1 + len(ix)] = ix
            y[i, : len(ix)] = ix
            y[i, len(ix)] = 0
        return x, y


class MLP(nn.Module):
    """Bengio et al. 2003: embed the last block_size characters, one hidden layer."""

    def __init__(self, vocab_size, block_size, n_embd, n_hidden):
        super().__init__()
        self.block_size = block_size
        self.vocab_size = vocab_size
        self.wte = nn.Embedding(vocab_size + 1, n_embd)  # +1: the padding token
        self.mlp = nn.Sequential(nn.Linear(block_size * n_embd, n_hidden), nn.Tanh(), nn.Linear(n_hidden, vocab_size))

    def forward(self, idx, targets=None):
        embs = []
        for _ in range(self.block_size):
            embs.append(self.wte(idx))
            idx = torch.roll(idx, 1, 1)
            idx[:, 0] = self.vocab_size  # the padding token
        logits = self.mlp(torch.cat(embs, -1))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


@torch.inference_mode()
def evaluate(model, x, y, batch_size, max_batches):
    model.eval()
    losses = []
    for i in range(0, min(len(x), batch_size * max_batches), batch_size):
        _, loss = model(x[i : i + batch_size], y[i : i + batch_size])
        losses.append(loss.item())
    model.train()
    return torch.tensor(losses).mean().item()


def main():
    parser = argparse.ArgumentParser(description="A character-level language model of names")
    parser.add_argument("--input-file", "-i", type=str, default="names.txt", help="input file with one name per line")
    parser.add_argument("--work-dir", "-o", type=str, default="out", help="output working directory")
    parser.add_argument("--resume", action="store_true", help="resume from the model in the work dir")
    parser.add_argument("--max-steps", type=int, default=60, help="optimisation steps")
    parser.add_argument("--device", type=str, default="cpu", help="device: cpu|cuda|mps")
    parser.add_argument("--seed", type=int, default=3407, help="seed")
    parser.add_argument("--n-embd", type=int, default=16, help="embedding size")
    parser.add_argument("--n-hidden", type=int, default=64, help="hidden units")
    parser.add_argument("--batch-size", "-b", type=int, default=32, help="batch size")
    parser.add_argument("--learning-rate", "-l", type=float, default=5e-3, help="learning rate")
    parser.add_argument("--weight-decay", "-w", type=float, default=0.01, help="weight decay")
    parser.add_argument("--eval-every", type=int, default=20, help="steps between evaluations")
    args = parser.parse_args()
    print(vars(args))

    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.work_dir, exist_ok=True)
    writer = SummaryWriter(log_dir=args.work_dir)

    with open(args.input_file) as f:
        words = [w.strip() for w in f.read().splitlines() if w.strip()]
    chars = sorted(set("".join(words)))
    max_len = max(len(w) for w in words)
    perm = torch.randperm(len(words)).tolist()
    n_test = min(200, len(words) // 10)
    train = CharDataset([words[i] for i in perm[n_test:]], chars, max_len)
    test = CharDataset([words[i] for i in perm[:n_test]], chars, max_len)
    vocab_size, block_size = train.vocab_size(), train.block_size()
    print(f"dataset determined that: {vocab_size=}, {block_size=}")
    xtr, ytr = train.tensors()
    xte, yte = test.tensors()

    model = MLP(vocab_size, block_size, args.n_embd, args.n_hidden).to(args.device)
    print(f"model #params: {sum(p.numel() for p in model.parameters())}")
    ckpt = os.path.join(args.work_dir, "model.pt")
    if args.resume:
        model.load_state_dict(torch.load(ckpt))
    opt = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay, betas=(0.9, 0.99), eps=1e-8)

    best = None
    for step in range(args.max_steps + 1):
        t0 = time.time()
        ix = torch.randint(len(xtr), (args.batch_size,))
        _, loss = model(xtr[ix].to(args.device), ytr[ix].to(args.device))
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t1 = time.time()
        if step % 10 == 0:
            print(f"step {step} | loss {loss.item():.4f} | step time {(t1 - t0) * 1000:.2f}ms")
        if step > 0 and step % args.eval_every == 0 or step == args.max_steps:
            train_loss = evaluate(model, xtr, ytr, batch_size=100, max_batches=10)
            test_loss = evaluate(model, xte, yte, batch_size=100, max_batches=10)
            writer.add_scalar("Loss/train", train_loss, step)
            writer.add_scalar("Loss/test", test_loss, step)
            writer.flush()
            print(f"step {step} train loss: {train_loss} test loss: {test_loss}")
            if best is None or test_loss < best:
                best = test_loss
                torch.save(model.state_dict(), ckpt)
                print(f"test loss {test_loss} is the best so far, saving model to {ckpt}")
    writer.close()


if __name__ == "__main__":
    main()
