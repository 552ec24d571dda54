// `ktray plots --inline`: images drawn in the terminal itself, with the kitty
// graphics protocol or iTerm2's OSC 1337, and through tmux's DCS passthrough
// when ktray runs inside tmux. Which terminal it is comes from the environment
// (and, inside tmux, from what tmux knows of its client); nothing is guessed
// from a terminal's answer on stdin.
import { KtrayError } from '../shared/errors';
import type { PlotMime } from '../shared/types';

export type InlineProtocol = 'kitty' | 'iterm2';

/** What decides the protocol: the environment, and tmux's facts when inside it. */
export interface TerminalFacts {
  env: NodeJS.ProcessEnv;
  /** Inside tmux (TMUX set): its client's terminal (`#{client_termname}`, `#{client_termtype}`) and allow-passthrough. */
  tmux: null | {
    clientTermName: string;
    clientTermType: string;
    /** `tmux show -Apv allow-passthrough`: 'on' | 'all' | 'off'; null when this tmux has no such option (before 3.3, always passed). */
    passthrough: string | null;
  };
}

export interface InlineTarget {
  protocol: InlineProtocol;
  /** Which fact decided it, for the user. */
  because: string;
  tmux: boolean;
}

export const SUPPORTED_TERMINALS = 'kitty (kitty graphics protocol), iTerm2 and WezTerm (iTerm2 inline images), and tmux inside one of them with allow-passthrough on';

/** Picks the protocol, or throws what to do instead. */
export function detectInline(facts: TerminalFacts): InlineTarget {
  const { env, tmux } = facts;
  const forced = env.KTRAY_INLINE?.trim().toLowerCase();
  let found: Omit<InlineTarget, 'tmux'> | null = null;
  if (forced) {
    if (forced !== 'kitty' && forced !== 'iterm2') {
      throw new KtrayError({ code: 'BAD_INPUT', message: `KTRAY_INLINE=${env.KTRAY_INLINE} is not an inline image protocol Kernel Tray knows.`, hint: 'Set KTRAY_INLINE=kitty or KTRAY_INLINE=iterm2, or unset it to let ktray tell from the terminal.' });
    }
    found = { protocol: forced, because: `KTRAY_INLINE=${forced}` };
  }
  const termProgram = env.TERM_PROGRAM ?? '';
  found ??=
    env.TERM === 'xterm-kitty' ? { protocol: 'kitty', because: 'TERM=xterm-kitty' }
    : env.KITTY_WINDOW_ID ? { protocol: 'kitty', because: 'KITTY_WINDOW_ID is set' }
    : termProgram === 'iTerm.app' || termProgram === 'WezTerm' ? { protocol: 'iterm2', because: `TERM_PROGRAM=${termProgram}` }
    : env.LC_TERMINAL === 'iTerm2' ? { protocol: 'iterm2', because: 'LC_TERMINAL=iTerm2' }
    : null;
  if (!found && tmux) {
    // Inside tmux, TERM and TERM_PROGRAM are tmux's own; the terminal tmux draws on is its client.
    const name = tmux.clientTermName;
    const type = tmux.clientTermType;
    found =
      name === 'xterm-kitty' || /^kitty/i.test(type) ? { protocol: 'kitty', because: `tmux's client is ${type || name}` }
      : /^(iTerm2|WezTerm)/i.test(type) || name === 'wezterm' ? { protocol: 'iterm2', because: `tmux's client is ${type || name}` }
      : null;
  }
  if (!found) {
    const seen = [`TERM=${env.TERM ?? ''}`, env.TERM_PROGRAM ? `TERM_PROGRAM=${env.TERM_PROGRAM}` : '', tmux ? `tmux client ${tmux.clientTermType || tmux.clientTermName || 'unknown'}` : '']
      .filter(Boolean)
      .join(', ');
    throw new KtrayError({
      code: 'BAD_INPUT',
      message: `This terminal (${seen}) has no inline image protocol that Kernel Tray knows; --inline draws in ${SUPPORTED_TERMINALS}.`,
      hint: 'Use --dir DIR to write the plots as files and open them with any viewer (with --follow for new ones); or set KTRAY_INLINE=kitty|iterm2 if your terminal speaks one of them.',
    });
  }
  if (tmux && tmux.passthrough !== null && tmux.passthrough !== 'on' && tmux.passthrough !== 'all') {
    throw new KtrayError({
      code: 'BAD_INPUT',
      message: `Inside tmux, images reach ${found.protocol === 'kitty' ? 'kitty' : 'the terminal'} only through tmux's passthrough, and allow-passthrough is ${tmux.passthrough || 'off'} here.`,
      hint: "Turn it on with `tmux set -g allow-passthrough on` (or `set -g allow-passthrough on` in ~/.tmux.conf), then run this again; or use --dir DIR.",
    });
  }
  return { ...found, tmux: !!tmux };
}

/** Whether this protocol can draw this kind of image as it is (kitty takes PNG only, iTerm2 no SVG). */
export function canDraw(protocol: InlineProtocol, mime: PlotMime): boolean {
  if (mime === 'image/png') return true;
  if (mime === 'image/jpeg') return protocol === 'iterm2';
  return false;
}

/** kitty's payloads are at most this many bytes of base64 per escape. */
export const KITTY_CHUNK = 4096;

/** Rows an image takes: about its own height at 18 px a row, at least 3, at most 24 or the terminal's height less 2. */
export function inlineRows(heightPx: number | null, terminalRows: number | undefined): number {
  const most = Math.max(3, Math.min(24, (terminalRows ?? 24) - 2));
  return Math.min(most, Math.max(3, Math.ceil((heightPx ?? 360) / 18)));
}

/**
 * kitty graphics protocol: transmit and display a PNG (`a=T,f=100`), quietly
 * (`q=2`: no OK or error answer typed into the terminal's input), scaled to
 * ROWS rows (`r=`, width from its aspect) without moving the cursor (`C=1`:
 * the caller moves it, so tmux, which does not see the image, agrees where
 * the text goes on); its base64 in chunks of 4096 with `m=1` on all but the
 * last, which has `m=0`.
 */
export function kittySequences(base64: string, rows: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < base64.length || i === 0; i += KITTY_CHUNK) {
    const chunk = base64.slice(i, i + KITTY_CHUNK);
    const more = i + KITTY_CHUNK < base64.length ? 1 : 0;
    out.push(`\x1b_G${i === 0 ? `a=T,f=100,q=2,C=1,r=${rows},` : ''}m=${more};${chunk}\x1b\\`);
  }
  return out;
}

/**
 * iTerm2's inline image (OSC 1337 File=): the whole file in one escape, ended
 * by BEL, ROWS rows high with its aspect kept, the cursor left where it was
 * (`doNotMoveCursor=1`, as kitty's C=1).
 */
export function iterm2Sequence(base64: string, name: string, rows: number): string {
  const bytes = Buffer.from(base64, 'base64').length;
  return `\x1b]1337;File=inline=1;size=${bytes};name=${Buffer.from(name).toString('base64')};height=${rows};preserveAspectRatio=1;doNotMoveCursor=1:${base64}\x07`;
}

/** tmux's DCS passthrough: ESC doubled inside, so tmux hands the escape to its client terminal as it was. */
export function tmuxWrap(seq: string): string {
  return `\x1bPtmux;${seq.replace(/\x1b/g, '\x1b\x1b')}\x1b\\`;
}

/** Everything to write to draw one image: its escapes, then ROWS newlines so the next text starts below it. */
export function inlineImage(target: InlineTarget, base64: string, name: string, rows: number): string {
  const seqs = target.protocol === 'kitty' ? kittySequences(base64, rows) : [iterm2Sequence(base64, name, rows)];
  return (target.tmux ? seqs.map(tmuxWrap) : seqs).join('') + '\n'.repeat(rows);
}
