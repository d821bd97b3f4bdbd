"""Token vocabulary for the attention model: one token per (evidence, value), plus age and sex tokens."""

from __future__ import annotations

from dataclasses import dataclass

from gnn.diagnosis.findings import SEP, Patient
from gnn.diagnosis.knowledge import Knowledge

PAD, CLS = "<pad>", "<cls>"
AGE_BINS = (0, 1, 5, 15, 30, 45, 60, 75)  # lower bounds of the age bands


def age_token(age: int) -> str:
    low = max(b for b in AGE_BINS if age >= b)
    return f"<age:{low}>"


@dataclass
class Vocab:
    """tokens[i] is token i; base[i] is the index of its evidence (0 for pad/cls/age/sex)."""

    tokens: list[str]
    bases: list[str]
    token_base: list[int]

    @classmethod
    def from_knowledge(cls, kb: Knowledge) -> Vocab:
        tokens = [PAD, CLS, "<sex:M>", "<sex:F>", *(age_token(b) for b in AGE_BINS)]
        bases = ["<none>"]
        token_base = [0] * len(tokens)
        for code in sorted(kb.evidences, key=lambda c: int(c.split("_")[1]) if c.split("_")[1].isdigit() else 0):
            info = kb.evidences[code]
            bases.append(code)
            b = len(bases) - 1
            tokens.append(code)
            token_base.append(b)
            if info.data_type != "B":
                for v in info.possible_values:
                    tokens.append(f"{code}{SEP}{v}")
                    token_base.append(b)
        return cls(tokens=tokens, bases=bases, token_base=token_base)

    @property
    def index(self) -> dict[str, int]:
        if not hasattr(self, "_index"):
            self._index = {t: i for i, t in enumerate(self.tokens)}
        return self._index

    def encode(self, patient: Patient) -> list[int]:
        """[CLS, sex, age, finding tokens...]; every parsed finding has a token by construction."""
        idx = self.index
        ids = [idx[CLS], idx[f"<sex:{patient.sex}>"], idx[age_token(patient.age)]]
        ids += [idx[t] for t in patient.tokens if t in idx]
        return ids

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "bases": self.bases, "token_base": self.token_base}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        return cls(tokens=list(d["tokens"]), bases=list(d["bases"]), token_base=[int(i) for i in d["token_base"]])
