import { TransientHttpError } from "./errors.js";

// Vendor creates are not idempotent. A create whose answer is lost after the vendor may have applied it (a
// TransientHttpError with `maybeProcessed`) must not become a second record on the engine's retry: look for
// what it made first. These two helpers are that control flow, shared by every connector.

/** What a create step ended with: the record it made, or the one an earlier or lost attempt had made. */
export type CreateOutcome<Created, Found = Created> =
  | { action: "created"; record: Created }
  | { action: "linked"; record: Found };

/**
 * Runs `create`; if it fails after the request may have landed, `findLanded` looks for the record it made
 * (errors of the look-up are swallowed: the original failure is what the engine must see) and links it.
 */
export async function createOnce<Created, Found = Created>(
  create: () => Promise<Created>,
  findLanded: () => Promise<Found | null>,
): Promise<CreateOutcome<Created, Found>> {
  try {
    return { action: "created", record: await create() };
  } catch (error) {
    if (error instanceof TransientHttpError && error.maybeProcessed) {
      const landed = await findLanded().catch(() => null);
      if (landed !== null) return { action: "linked", record: landed };
    }
    throw error;
  }
}

/**
 * Create-or-link: a record already carrying our id (found by `find`) is linked; otherwise `create` runs once,
 * with `find` as the re-check after an ambiguous failure. Safe to call again after any failure.
 */
export async function createOrLink<Created, Found = Created>(
  find: () => Promise<Found | null>,
  create: () => Promise<Created>,
): Promise<CreateOutcome<Created, Found>> {
  const existing = await find();
  if (existing !== null) return { action: "linked", record: existing };
  return createOnce(create, find);
}
