/**
 * `npm run emulator -- [--scenario FILE] [--port N] [--time-scale N]`: starts the emulator, prints its
 * EmulatorInfo as one JSON line on stdout, then serves in the foreground until SIGINT/SIGTERM.
 */
import { startEmulator } from './server';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const scenario = option(args, '--scenario');
  const port = option(args, '--port');
  const timeScale = option(args, '--time-scale');
  const emulator = await startEmulator({
    ...(scenario ? { scenario } : {}),
    ...(port ? { port: Number(port) } : {}),
    ...(timeScale ? { timeScale: Number(timeScale) } : {}),
  });
  process.stdout.write(`${JSON.stringify(emulator.info)}\n`);
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
