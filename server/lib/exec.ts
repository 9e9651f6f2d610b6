import { execFile, type ExecFileOptions } from 'node:child_process';

export class CommandError extends Error {
  constructor(readonly command: string, readonly exitCode: number | null, readonly stderr: string) {
    super(`${command} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  }
}

/** Runs a program with an argument list (never through a shell) and returns its stdout. */
export function run(file: string, args: string[], opts: ExecFileOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, ...opts, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        reject(new CommandError(`${file} ${args.slice(0, 3).join(' ')}`, code, String(stderr || err.message)));
      } else {
        resolve(String(stdout));
      }
    });
  });
}
