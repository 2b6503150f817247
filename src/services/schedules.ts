import { and, asc, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { type Schedule, type ScheduleRun, scheduleRuns, schedules, type Upload } from '../db/schema/index.ts';
import { refineName } from '../domain/names.ts';
import { checkScheduleZone, nextRunAfter, parseScheduleSpec, runsAgain } from '../domain/schedule-spec.ts';
import { AppError } from '../errors.ts';
import { previewUpload } from '../ingest/preview.ts';
import type { AddressPolicy } from '../ingest/sources/address-policy.ts';
import { fetchSource, parseSourceUrl } from '../ingest/sources/fetch-source.ts';
import type { FetchedFile, FetchLimits, SourceCredentials } from '../ingest/sources/types.ts';
import type { Secrets } from '../secrets.ts';
import type { ServiceContext } from './context.ts';
import { isUuid } from './ids.ts';
import { validationError } from './zod-error.ts';

/** What schedules need besides the database: the key of stored secrets and the limits of a download. */
export interface ScheduleDeps {
  secrets: Secrets;
  limits: FetchLimits;
}

/** The limits of every download from the configuration: the upload limit and the SSRF guard's allowances. */
export function sourceLimits(config: Pick<Config, 'maxUploadBytes' | 'allowPrivateSources'>): FetchLimits {
  const policy: AddressPolicy = { allowPrivate: config.allowPrivateSources };
  return { policy, maxBytes: config.maxUploadBytes };
}

/** The body of POST /api/v1/schedules and /schedules/preview (and `closeloop schedules add`). */
export const scheduleInput = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(100, 'must be at most 100 characters')
      .superRefine(refineName),
    url: z.string().min(1, 'must not be empty').max(2000, 'must be at most 2,000 characters'),
    username: z.string().min(1).max(200).superRefine(refineName).optional(),
    password: z.string().min(1).max(1000).optional(),
    privateKey: z.string().min(1).max(20_000).optional(),
    /** Unset: the header of the file previewed at add decides (as for closeloop import), and is kept. */
    kind: z.enum(['conversions', 'adjustments'], { error: 'must be conversions or adjustments' }).optional(),
    every: z.string().min(1, 'must not be empty').max(200),
    timeZone: z.string().min(1).max(64).default('UTC'),
  })
  .strict();

export type ScheduleInput = z.input<typeof scheduleInput>;

/** A checked schedule before it is saved: its URL without credentials, spec, zone and secret. */
interface CheckedInput {
  name: string;
  url: URL;
  credentials: SourceCredentials;
  kind: 'conversions' | 'adjustments' | undefined;
  spec: { text: string; pattern: string };
  timeZone: string;
}

function checkInput(input: unknown, now: Date): CheckedInput {
  const parsed = scheduleInput.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, 'schedule');
  const i = parsed.data;
  const spec = parseScheduleSpec(i.every);
  if (!spec.ok) throw new AppError('validation_failed', `every: ${spec.message}`);
  const zoneProblem = checkScheduleZone(i.timeZone);
  if (zoneProblem) throw new AppError('validation_failed', `timeZone: ${zoneProblem}`);
  if (!runsAgain(spec.value, i.timeZone, now))
    throw new AppError(
      'validation_failed',
      `every: ${spec.value.text} never runs (no such date comes again).`,
    );
  const { url, username, password } = parseSourceUrl(i.url);
  if (i.password !== undefined && i.privateKey !== undefined)
    throw new AppError('validation_failed', 'Give a password or a private key, not both.');
  if (i.privateKey !== undefined && url.protocol !== 'sftp:')
    throw new AppError(
      'validation_failed',
      `A private key is for sftp:// sources only; ${url.protocol}// takes a password.`,
    );
  const user = i.username ?? username;
  const secret = i.password ?? password;
  if (secret !== undefined && user === undefined)
    throw new AppError('validation_failed', 'A password needs a user name: give username too.');
  return {
    name: i.name,
    url,
    credentials: {
      ...(user !== undefined ? { username: user } : {}),
      ...(secret !== undefined ? { password: secret } : {}),
      ...(i.privateKey !== undefined ? { privateKey: i.privateKey } : {}),
    },
    kind: i.kind,
    spec: spec.value,
    timeZone: i.timeZone,
  };
}

/** The stored credentials of a schedule, decrypted for a download. */
export function scheduleCredentials(s: Schedule, secrets: Secrets): SourceCredentials {
  const secret = s.secretEnc ? secrets.decrypt(s.secretEnc) : undefined;
  return {
    ...(s.username ? { username: s.username } : {}),
    ...(secret !== undefined && s.secretKind === 'password' ? { password: secret } : {}),
    ...(secret !== undefined && s.secretKind === 'private_key' ? { privateKey: secret } : {}),
  };
}

/** Downloaded bytes as the readers' input. */
export async function* bytesInput(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export interface PreviewResult {
  /** The previewed upload: every row with its outcome, nothing applied. */
  upload: Upload;
  fetched: FetchedFile;
}

/**
 * Fetch a source once and preview it as an upload (applied never). A source that cannot be read, or a
 * file refused as a whole (not CSV/XLSX, a missing column), is an error saying why.
 */
export async function previewSource({
  ctx,
  deps,
  input,
}: {
  ctx: ServiceContext;
  deps: ScheduleDeps;
  input: unknown;
}): Promise<PreviewResult & { checked: CheckedInput }> {
  const checked = checkInput(input, ctx.now());
  const fetched = await fetchSource(checked.url, checked.credentials, deps.limits);
  const upload = await previewUpload({
    ctx,
    input: bytesInput(fetched.bytes),
    filename: fetched.filename,
    ...(checked.kind ? { kind: checked.kind } : {}),
  });
  if (upload.status === 'failed')
    throw new AppError(
      'validation_failed',
      `${checked.url.href} was read, but the file was refused as a whole: ${upload.errorMessage}`,
      { failure: 'file_refused', errorCode: upload.errorCode, uploadId: upload.id },
    );
  return { upload, fetched, checked };
}

/**
 * "Save and preview": fetch the file once, preview it (nothing applied) and save the schedule, its
 * secret encrypted. Nothing is saved when the source cannot be read; the error says why.
 */
export async function addSchedule({
  ctx,
  deps,
  input,
}: {
  ctx: ServiceContext;
  deps: ScheduleDeps;
  input: unknown;
}): Promise<{ schedule: Schedule; upload: Upload }> {
  const name = (input as { name?: unknown })?.name;
  if (typeof name === 'string') await refuseTakenName(ctx, name.trim());
  const { upload, fetched, checked } = await previewSource({ ctx, deps, input });
  const now = ctx.now();
  const secret = checked.credentials.privateKey ?? checked.credentials.password;
  const [schedule] = await ctx.database.db
    .insert(schedules)
    .values({
      customerId: ctx.customerId,
      name: checked.name,
      url: checked.url.href,
      username: checked.credentials.username ?? null,
      secretEnc: secret === undefined ? null : deps.secrets.encrypt(secret),
      secretKind: checked.credentials.privateKey ? 'private_key' : secret !== undefined ? 'password' : null,
      hostKey: fetched.hostKey ?? null,
      kind: upload.kind,
      spec: checked.spec.text,
      timeZone: checked.timeZone,
      nextRunAt: nextRunAfter(checked.spec, checked.timeZone, now),
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!schedule) throw takenName(checked.name);
  return { schedule, upload };
}

async function refuseTakenName(ctx: ServiceContext, name: string): Promise<void> {
  const [taken] = await ctx.database.db
    .select({ id: schedules.id })
    .from(schedules)
    .where(and(eq(schedules.customerId, ctx.customerId), eq(schedules.name, name)));
  if (taken) throw takenName(name);
}

const takenName = (name: string) =>
  new AppError(
    'conflict',
    `A schedule named "${name}" exists already. Choose another name, or remove it first (closeloop schedules remove).`,
  );

/** A schedule by id or name, or a 404 that says how to list them. */
export async function getSchedule({ ctx, ref }: { ctx: ServiceContext; ref: string }): Promise<Schedule> {
  const [row] = await ctx.database.db
    .select()
    .from(schedules)
    .where(
      and(
        eq(schedules.customerId, ctx.customerId),
        isUuid(ref) ? eq(schedules.id, ref) : eq(schedules.name, ref),
      ),
    );
  if (!row)
    throw new AppError(
      'not_found',
      `No schedule ${JSON.stringify(ref)}. List them with closeloop schedules list (GET /api/v1/schedules).`,
    );
  return row;
}

export async function listSchedules({ ctx }: { ctx: ServiceContext }): Promise<Schedule[]> {
  return ctx.database.db
    .select()
    .from(schedules)
    .where(eq(schedules.customerId, ctx.customerId))
    .orderBy(asc(schedules.name));
}

/** The body of PATCH /api/v1/schedules/:ref. */
export const schedulePatch = z
  .object({
    every: z.string().min(1).max(200).optional(),
    timeZone: z.string().min(1).max(64).optional(),
    paused: z.boolean().optional(),
    kind: z.enum(['conversions', 'adjustments'], { error: 'must be conversions or adjustments' }).optional(),
  })
  .strict();

/**
 * Change when a schedule runs, what its file holds, or pause / resume it. The URL and credentials are
 * not changed in place: a new source is saved (and previewed) as a new schedule.
 */
export async function updateSchedule({
  ctx,
  ref,
  patch,
}: {
  ctx: ServiceContext;
  ref: string;
  patch: unknown;
}): Promise<Schedule> {
  const parsed = schedulePatch.safeParse(patch);
  if (!parsed.success) throw validationError(parsed.error, 'schedule change');
  const p = parsed.data;
  const current = await getSchedule({ ctx, ref });
  const now = ctx.now();
  const zone = p.timeZone ?? current.timeZone;
  const zoneProblem = checkScheduleZone(zone);
  if (zoneProblem) throw new AppError('validation_failed', `timeZone: ${zoneProblem}`);
  const spec = parseScheduleSpec(p.every ?? current.spec);
  if (!spec.ok) throw new AppError('validation_failed', `every: ${spec.message}`);
  if (!runsAgain(spec.value, zone, now))
    throw new AppError(
      'validation_failed',
      `every: ${spec.value.text} never runs (no such date comes again).`,
    );
  const paused = p.paused ?? current.paused;
  const timing = p.every !== undefined || p.timeZone !== undefined || (current.paused && !paused);
  const [row] = await ctx.database.db
    .update(schedules)
    .set({
      spec: spec.value.text,
      timeZone: zone,
      paused,
      ...(p.kind ? { kind: p.kind } : {}),
      // A new spec, or a resume, counts from now: a schedule paused for a week runs at its next slot,
      // not at once for the runs it missed while paused.
      ...(timing ? { nextRunAt: nextRunAfter(spec.value, zone, now), failures: 0 } : {}),
      updatedAt: now,
    })
    .where(eq(schedules.id, current.id))
    .returning();
  return row!;
}

export async function removeSchedule({ ctx, ref }: { ctx: ServiceContext; ref: string }): Promise<Schedule> {
  const current = await getSchedule({ ctx, ref });
  // Its runs go with it; the uploads they made stay (their results are kept their 180 days).
  await ctx.database.db.delete(schedules).where(eq(schedules.id, current.id));
  return current;
}

/** A schedule's runs, newest first. */
export async function scheduleHistory({
  ctx,
  ref,
  limit = 50,
}: {
  ctx: ServiceContext;
  ref: string;
  limit?: number;
}): Promise<{ schedule: Schedule; runs: ScheduleRun[] }> {
  const schedule = await getSchedule({ ctx, ref });
  const runs = await ctx.database.db
    .select()
    .from(scheduleRuns)
    .where(eq(scheduleRuns.scheduleId, schedule.id))
    .orderBy(desc(scheduleRuns.startedAt), desc(scheduleRuns.id))
    .limit(limit);
  return { schedule, runs };
}

/** A schedule as the API and the CLI show it: never its password or key, only which one it has. */
export function scheduleView(s: Schedule) {
  return {
    id: s.id,
    name: s.name,
    url: s.url,
    username: s.username,
    credentials: s.secretKind,
    kind: s.kind,
    every: s.spec,
    timeZone: s.timeZone,
    paused: s.paused,
    nextRunAt: s.paused ? null : s.nextRunAt.toISOString(),
    lastRunAt: s.lastRunAt?.toISOString() ?? null,
    failures: s.failures,
    lastError: s.lastError,
    createdAt: s.createdAt.toISOString(),
    links: {
      self: `/api/v1/schedules/${s.id}`,
      runs: `/api/v1/schedules/${s.id}/runs`,
      run: `/api/v1/schedules/${s.id}/run`,
    },
  };
}

export function runView(r: ScheduleRun) {
  const upload = r.uploadId ? `/api/v1/uploads/${r.uploadId}` : null;
  return {
    id: r.id,
    trigger: r.trigger,
    dueAt: r.dueAt?.toISOString() ?? null,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    outcome: r.outcome,
    uploadId: r.uploadId,
    bytes: r.bytes,
    error: r.error ? { code: r.errorCode, message: r.error } : null,
    links: upload
      ? { upload, results: `${upload}/results.csv`, errors: `${upload}/results.csv?errors=only` }
      : null,
  };
}

/** The dependencies of schedules from the configuration: the secrets key and the download limits. */
export async function scheduleDeps(
  config: Pick<Config, 'maxUploadBytes' | 'allowPrivateSources' | 'secretKey' | 'dataDir'>,
): Promise<ScheduleDeps> {
  const { createSecrets, loadSecretKey } = await import('../secrets.ts');
  return { secrets: createSecrets(loadSecretKey(config)), limits: sourceLimits(config) };
}
