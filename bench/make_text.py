"""Writes a deterministic pseudo-English text of a given size, for the stateful text benchmark.

Words come from a fixed list with Zipf-like frequencies, sentences end with punctuation and
paragraphs with blank lines, so a character model has structure at several time scales.

    python3 bench/make_text.py 20 /tmp/text-20mb.txt     # 20 MB (20,000,000 bytes)
"""
import random
import sys

WORDS = ("the of and to in a is that for it as was with be by on not he i this are or his from at which but have an "
         "they you were her she there one all we their been has when who will more no if out so said what up its "
         "about into than them can only other new some could time these two may then do first any my now such like "
         "our over man me even most made after also did many before must through back years where much your way well "
         "down should because each just those people how too little state good very make world still own see men "
         "work long get here between both life being under never day same another know while last might us great old "
         "year off come since against go came right used take three").split()


def main():
    megabytes, path = float(sys.argv[1]), sys.argv[2]
    target = int(megabytes * 1_000_000)
    rng = random.Random(20261121)
    weights = [1.0 / (k + 1) for k in range(len(WORDS))]
    out, size, sentence = [], 0, 0
    while size < target:
        n = rng.randint(4, 14)
        words = rng.choices(WORDS, weights, k=n)
        text = " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!", ","]) + " "
        sentence += 1
        if sentence % rng.randint(4, 9) == 0:
            text = text.rstrip() + "\n\n"
        out.append(text)
        size += len(text)
    data = "".join(out)[:target]
    with open(path, "w", encoding="ascii") as f:
        f.write(data)


if __name__ == "__main__":
    main()
