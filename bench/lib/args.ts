/** `--name value` from the command line of a bench, or `fallback` when it is not given. */
export function opt(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
}
