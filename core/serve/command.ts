/**
 * `seedscope serve`: the desktop UI in a browser. It trains queued runs,
 * computes pair distances as runs finish, and serves the built renderer and
 * the `Api` on 127.0.0.1 until interrupted.
 */
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { attachAnalysis } from '../analysis/service-hook';
import { CliError, EXIT, openService } from '../cli/context';
import { createLogger } from '../log';
import { repositoryRoot } from '../paths';
import { startServer } from './server';

const log = createLogger('serve');

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError(`invalid port "${value}"; expected an integer from 0 to 65535`);
  return Number(value);
}

function parseWorkers(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`invalid worker count "${value}"; expected a positive integer`);
  return Number(value);
}

interface ServeCommandOptions {
  port: number;
  workers?: number;
  rendererDir?: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve the Seedscope UI and API on 127.0.0.1 and train queued runs; prints the URL to open (it contains an access token)')
    .option('--port <port>', 'TCP port on 127.0.0.1; 0 picks a free port', parsePort, 0)
    .option('--workers <count>', 'training worker processes (default: the number of CPU cores)', parseWorkers)
    .option('--renderer-dir <path>', 'folder of the built renderer (default: out/renderer of this installation; build it with `npm run build`)')
    .action(async (options: ServeCommandOptions, command: Command) => {
      await serve(options, command);
    });
}

async function serve(options: ServeCommandOptions, command: Command): Promise<void> {
  const service = openService(command, options.workers === undefined ? {} : { workers: options.workers });
  const detachAnalysis = attachAnalysis(service);

  let server;
  try {
    const rendererDir = options.rendererDir ?? path.join(repositoryRoot, 'out', 'renderer');
    server = await startServer({ api: service, rendererDir, port: options.port });
  } catch (error) {
    await detachAnalysis();
    await service.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`port ${options.port} on 127.0.0.1 is in use; pick another with --port or use --port 0`, EXIT.failed);
    throw new CliError((error as Error).message, EXIT.failed);
  }

  process.stdout.write(`Seedscope is serving at ${server.url}\nOpen that URL in a browser; the token in it is required. Press Ctrl+C to stop.\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info('stopping', { signal });

  // Runs in progress go back to the queue and resume from their last checkpoint next time.
  await server.close();
  await detachAnalysis();
  await service.close();
  process.exitCode = signal === 'SIGINT' ? EXIT.interrupted : EXIT.ok;
}
