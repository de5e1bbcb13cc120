//! The token NFA: a bit-set simulation, linear in the input, no backtracking.

use super::Token;

/// A bit set of NFA states. State `2k` is "before token k" (`2n` accepts); state `2k+1` is
/// "inside a `DirRun` at token k" (it has consumed chars, so it must reach a `/`).
/// Up to 256 states live inline; larger patterns use the heap.
struct States {
    inline: [u64; 4],
    heap: Vec<u64>,
    words: usize,
}

impl States {
    fn new(nstates: usize) -> Self {
        let words = nstates.div_ceil(64);
        States {
            inline: [0; 4],
            heap: if words > 4 {
                vec![0; words]
            } else {
                Vec::new()
            },
            words,
        }
    }

    fn bits(&self) -> &[u64] {
        if self.words > 4 {
            &self.heap
        } else {
            &self.inline[..self.words]
        }
    }

    fn bits_mut(&mut self) -> &mut [u64] {
        if self.words > 4 {
            &mut self.heap
        } else {
            &mut self.inline[..self.words]
        }
    }

    fn set(&mut self, s: usize) {
        self.bits_mut()[s / 64] |= 1 << (s % 64);
    }

    fn get(&self, s: usize) -> bool {
        self.bits()[s / 64] & (1 << (s % 64)) != 0
    }

    fn is_empty(&self) -> bool {
        self.bits().iter().all(|w| *w == 0)
    }
}

/// The NFA simulation over a token list.
pub(super) struct Nfa<'t> {
    tokens: &'t [Token],
}

impl<'t> Nfa<'t> {
    pub(super) fn new(tokens: &'t [Token]) -> Self {
        Nfa { tokens }
    }

    /// Enters "before token k", following epsilon moves over skippable tokens.
    fn enter(&self, set: &mut States, mut k: usize) {
        loop {
            set.set(2 * k);
            match self.tokens.get(k) {
                Some(t) if t.skippable() => k += 1,
                _ => return,
            }
        }
    }

    /// One char from state `s` into `next`.
    fn step(&self, s: usize, c: char, next: &mut States) {
        let k = s / 2;
        let inside = s % 2 == 1;
        let Some(token) = self.tokens.get(k) else {
            return; // accepting: no moves
        };
        match token {
            Token::DirRun => {
                next.set(2 * k + 1);
                if c == '/' {
                    self.enter(next, k + 1);
                }
            }
            _ if inside => {}
            Token::Lit(l) => {
                if *l == c {
                    self.enter(next, k + 1);
                }
            }
            Token::Quest => {
                if c != '/' {
                    self.enter(next, k + 1);
                }
            }
            Token::Class { negated, ranges } => {
                let hit = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
                if hit != *negated {
                    self.enter(next, k + 1);
                }
            }
            Token::Star => {
                if c != '/' {
                    self.enter(next, k);
                }
            }
            Token::AnyRun => self.enter(next, k),
        }
    }

    /// Feeds `input` from the start state; returns the live states, or `None` once dead.
    fn feed(&self, input: &str) -> Option<States> {
        let nstates = 2 * self.tokens.len() + 2;
        let mut cur = States::new(nstates);
        let mut next = States::new(nstates);
        self.enter(&mut cur, 0);
        for c in input.chars() {
            next.bits_mut().fill(0);
            for (w, word) in cur.bits().iter().enumerate() {
                let mut live = *word;
                while live != 0 {
                    let s = w * 64 + live.trailing_zeros() as usize;
                    live &= live - 1;
                    self.step(s, c, &mut next);
                }
            }
            if next.is_empty() {
                return None;
            }
            std::mem::swap(&mut cur, &mut next);
        }
        Some(cur)
    }

    /// Whether `input` matches the whole pattern.
    pub(super) fn run(&self, input: &str) -> bool {
        self.feed(input)
            .is_some_and(|s| s.get(2 * self.tokens.len()))
    }

    /// Whether some string `dir/x...` (with at least one char after the `/`) can match.
    pub(super) fn run_dir_prefix(&self, dir: &str) -> bool {
        let n = self.tokens.len();
        let mut input = String::with_capacity(dir.len() + 1);
        input.push_str(dir);
        input.push('/');
        let Some(states) = self.feed(&input) else {
            return false;
        };
        // Live states other than "accepted already" can still consume more chars.
        (0..2 * n).any(|s| states.get(s))
    }
}
