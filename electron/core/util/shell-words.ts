// Splitting a line of arguments the way sh splits words, for options a user
// types as one string (`--partition=gpu --comment="my run"`): blanks separate
// words, single quotes keep everything literal, double quotes keep all but
// `\"` and `\\`, a backslash outside quotes escapes the next character.
// Nothing is expanded: `$HOME`, `~` and `*` stay as written, so a word means
// the same on every host whatever its shell.

export class ShellWordsError extends Error {}

export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordsError(`an unclosed single quote at character ${i + 1}`);
      word += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new ShellWordsError('an unclosed double quote');
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\' || line[i + 1] === '$' || line[i + 1] === '`')) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        if (d === '\\' && line[i + 1] === '\n') {
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      i++;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new ShellWordsError('a backslash at the end');
      if (line[i + 1] !== '\n') word += line[i + 1];
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
