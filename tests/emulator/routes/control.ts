/**
 * The control API under /_emulator (JSON, no authentication; the emulator only listens on 127.0.0.1):
 * GET /state, GET /requests, GET /info, POST /faults, POST /clock/advance {seconds}, POST /seed (a
 * scenario), POST /reset-requests, POST /runs/begin {run} (the task's run N starts: its beforeRun events).
 */
import type { Fault, Scenario } from '../model';
import { json, type Route } from '../router';
import type { Emulator, RequestRecord } from '../server';

export interface ControlDeps {
  emulator: Emulator;
  records: RequestRecord[];
  advanceAll(): void;
  clearRecords(): void;
}

/** A scenario the emulator refuses (unknown event kind, fault aimed at an app that does not exist...): 400. */
function badRequest(e: unknown) {
  return json(400, { error: { code: 'BadRequest', message: e instanceof Error ? e.message : String(e) } });
}

function attempt(action: () => void) {
  try {
    action();
    return undefined;
  } catch (e: unknown) {
    return badRequest(e);
  }
}

export function createControlRoutes(deps: ControlDeps): Route[] {
  const { emulator } = deps;
  return [
    {
      method: 'GET',
      pattern: /^\/_emulator\/state$/,
      handle: () => {
        deps.advanceAll();
        return json(200, emulator.state);
      },
    },
    { method: 'GET', pattern: /^\/_emulator\/info$/, handle: () => json(200, emulator.info) },
    {
      method: 'GET',
      pattern: /^\/_emulator\/requests$/,
      handle: () => json(200, { value: emulator.requests() }),
    },
    {
      method: 'POST',
      pattern: /^\/_emulator\/faults$/,
      handle: (ctx) => {
        const body = ctx.json<Fault[] | { faults?: Fault[] }>();
        const faults = Array.isArray(body) ? body : (body.faults ?? []);
        const refused = attempt(() => emulator.setFaults(faults));
        if (refused) return refused;
        return json(200, { faults: emulator.state.faults });
      },
    },
    {
      method: 'POST',
      pattern: /^\/_emulator\/clock\/advance$/,
      handle: (ctx) => {
        const seconds = Number(ctx.json<{ seconds?: number }>().seconds ?? 0);
        if (!Number.isFinite(seconds) || seconds < 0) {
          return json(400, {
            error: { code: 'BadRequest', message: 'seconds must be a non-negative number' },
          });
        }
        emulator.advanceClock(seconds);
        return json(200, { now: new Date(emulator.now()).toISOString() });
      },
    },
    {
      method: 'POST',
      pattern: /^\/_emulator\/seed$/,
      handle: async (ctx) => {
        const scenario = ctx.json<Scenario>();
        let refused: ReturnType<typeof badRequest> | undefined;
        await emulator.seed(scenario).catch((e: unknown) => {
          refused = badRequest(e);
        });
        return refused ?? json(200, emulator.info);
      },
    },
    {
      method: 'POST',
      pattern: /^\/_emulator\/runs\/begin$/,
      handle: (ctx) => {
        const run = Number(ctx.json<{ run?: number }>().run);
        if (!Number.isInteger(run) || run < 1) {
          return json(400, { error: { code: 'BadRequest', message: 'run must be a run number >= 1' } });
        }
        emulator.beginRun(run);
        return json(200, { run, events: emulator.state.events });
      },
    },
    {
      method: 'POST',
      pattern: /^\/_emulator\/reset-requests$/,
      handle: () => {
        deps.clearRecords();
        return { status: 204 };
      },
    },
  ];
}
