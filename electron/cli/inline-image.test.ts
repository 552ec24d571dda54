// The exact bytes `ktray plots --inline` writes: kitty's graphics escapes in
// 4096-byte chunks, iTerm2's OSC 1337, tmux's DCS passthrough around either;
// and which terminal gets which, or the error saying what to do instead.
import { describe, expect, it } from 'vitest';
import { KtrayError } from '../shared/errors';
import { canDraw, detectInline, inlineImage, inlineRows, iterm2Sequence, kittySequences, tmuxWrap, type TerminalFacts } from './inline-image';

const ESC = '\x1b';
const facts = (env: NodeJS.ProcessEnv, tmux: TerminalFacts['tmux'] = null): TerminalFacts => ({ env, tmux });
const tmuxOf = (over: Partial<NonNullable<TerminalFacts['tmux']>> = {}) => ({ clientTermName: 'xterm-256color', clientTermType: '', passthrough: 'on', ...over });

function errorOf(fn: () => unknown): KtrayError {
  try {
    fn();
  } catch (err) {
    return err as KtrayError;
  }
  throw new Error('expected an error');
}

describe('kitty graphics protocol', () => {
  it('sends a small PNG in one escape: transmit and display, PNG, quiet, cursor kept, its rows, m=0', () => {
    expect(kittySequences('iVBORw0KGgo=', 5)).toEqual([`${ESC}_Ga=T,f=100,q=2,C=1,r=5,m=0;iVBORw0KGgo=${ESC}\\`]);
  });

  it('splits the base64 into chunks of 4096, m=1 on all but the last, the keys only on the first', () => {
    const b64 = 'A'.repeat(4096 * 2) + 'B'.repeat(100);
    const seqs = kittySequences(b64, 12);
    expect(seqs).toEqual([
      `${ESC}_Ga=T,f=100,q=2,C=1,r=12,m=1;${'A'.repeat(4096)}${ESC}\\`,
      `${ESC}_Gm=1;${'A'.repeat(4096)}${ESC}\\`,
      `${ESC}_Gm=0;${'B'.repeat(100)}${ESC}\\`,
    ]);
    // Exactly a multiple of 4096: the last full chunk is the one with m=0, no empty one after it.
    const even = kittySequences('C'.repeat(8192), 12);
    expect(even).toHaveLength(2);
    expect(even[1]).toBe(`${ESC}_Gm=0;${'C'.repeat(4096)}${ESC}\\`);
    // What the chunks carry, put together, is the base64 as given.
    expect(seqs.map((s) => s.slice(s.indexOf(';') + 1, -2)).join('')).toBe(b64);
  });
});

describe("iTerm2's inline images", () => {
  it('is one OSC 1337 File= with inline=1, the decoded size, the base64 name, its rows, ended by BEL', () => {
    const bytes = Buffer.from('\x89PNG\r\n\x1a\nhello');
    const b64 = bytes.toString('base64');
    expect(iterm2Sequence(b64, 'k-1.png', 7)).toBe(`${ESC}]1337;File=inline=1;size=${bytes.length};name=${Buffer.from('k-1.png').toString('base64')};height=7;preserveAspectRatio=1;doNotMoveCursor=1:${b64}\x07`);
  });

  it('sizes an image to about its own height in rows, within the terminal', () => {
    expect(inlineRows(413, 50)).toBe(23);
    expect(inlineRows(2000, 50)).toBe(24);
    expect(inlineRows(2000, 10)).toBe(8);
    expect(inlineRows(20, 50)).toBe(3);
    expect(inlineRows(null, undefined)).toBe(20);
  });
});

describe('tmux passthrough', () => {
  it("wraps an escape in DCS tmux; with every ESC inside doubled", () => {
    expect(tmuxWrap(`${ESC}_Gm=0;QQ==${ESC}\\`)).toBe(`${ESC}Ptmux;${ESC}${ESC}_Gm=0;QQ==${ESC}${ESC}\\${ESC}\\`);
  });

  it('wraps each kitty chunk on its own, and moves below the image by its rows', () => {
    const b64 = 'A'.repeat(5000);
    const out = inlineImage({ protocol: 'kitty', because: '', tmux: true }, b64, 'x.png', 4);
    expect(out).toBe(kittySequences(b64, 4).map(tmuxWrap).join('') + '\n\n\n\n');
    expect(out.split(`${ESC}Ptmux;`)).toHaveLength(3);
    expect(inlineImage({ protocol: 'iterm2', because: '', tmux: false }, 'QQ==', 'x.png', 3)).toBe(iterm2Sequence('QQ==', 'x.png', 3) + '\n\n\n');
  });
});

describe('which terminal', () => {
  it('knows kitty by TERM or KITTY_WINDOW_ID, iTerm2 and WezTerm by TERM_PROGRAM or LC_TERMINAL', () => {
    expect(detectInline(facts({ TERM: 'xterm-kitty' }))).toEqual({ protocol: 'kitty', because: 'TERM=xterm-kitty', tmux: false });
    expect(detectInline(facts({ TERM: 'xterm-256color', KITTY_WINDOW_ID: '3' })).protocol).toBe('kitty');
    expect(detectInline(facts({ TERM_PROGRAM: 'iTerm.app' })).protocol).toBe('iterm2');
    expect(detectInline(facts({ TERM_PROGRAM: 'WezTerm' })).protocol).toBe('iterm2');
    expect(detectInline(facts({ LC_TERMINAL: 'iTerm2' })).protocol).toBe('iterm2');
    expect(detectInline(facts({ TERM: 'dumb', KTRAY_INLINE: 'kitty' }))).toMatchObject({ protocol: 'kitty', because: 'KTRAY_INLINE=kitty' });
  });

  it("inside tmux asks tmux's client, and passes through only when allow-passthrough is on", () => {
    const env = { TERM: 'tmux-256color', TERM_PROGRAM: 'tmux', TMUX: '/tmp/tmux-1/default,1,0' };
    expect(detectInline(facts(env, tmuxOf({ clientTermName: 'xterm-kitty' })))).toMatchObject({ protocol: 'kitty', tmux: true });
    expect(detectInline(facts(env, tmuxOf({ clientTermType: 'iTerm2 3.4.19' })))).toMatchObject({ protocol: 'iterm2', tmux: true });
    expect(detectInline(facts({ ...env, KITTY_WINDOW_ID: '1' }, tmuxOf({ passthrough: 'all' })))).toMatchObject({ protocol: 'kitty', tmux: true });
    expect(detectInline(facts({ ...env, KITTY_WINDOW_ID: '1' }, tmuxOf({ passthrough: null })))).toMatchObject({ tmux: true }); // tmux < 3.3
    const off = errorOf(() => detectInline(facts({ ...env, KITTY_WINDOW_ID: '1' }, tmuxOf({ passthrough: 'off' }))));
    expect(off.code).toBe('BAD_INPUT');
    expect(off.message).toContain('allow-passthrough is off');
    expect(off.hint).toContain('tmux set -g allow-passthrough on');
  });

  it('says which terminals it supports and to use --dir where it knows none', () => {
    const err = errorOf(() => detectInline(facts({ TERM: 'xterm-256color', TERM_PROGRAM: 'gnome-terminal' })));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain('TERM=xterm-256color, TERM_PROGRAM=gnome-terminal');
    expect(err.message).toMatch(/kitty .*iTerm2 and WezTerm.*tmux/);
    expect(err.hint).toContain('--dir DIR');
    const inTmux = errorOf(() => detectInline(facts({ TERM: 'tmux-256color', TMUX: 'x' }, tmuxOf())));
    expect(inTmux.message).toContain('tmux client xterm-256color');
    expect(errorOf(() => detectInline(facts({ KTRAY_INLINE: 'sixel' }))).message).toContain('KTRAY_INLINE=sixel');
  });

  it('draws PNG everywhere, JPEG only with iTerm2, SVG nowhere', () => {
    expect(canDraw('kitty', 'image/png')).toBe(true);
    expect(canDraw('kitty', 'image/jpeg')).toBe(false);
    expect(canDraw('iterm2', 'image/jpeg')).toBe(true);
    expect(canDraw('iterm2', 'image/svg+xml')).toBe(false);
    expect(canDraw('kitty', 'image/svg+xml')).toBe(false);
  });
});
