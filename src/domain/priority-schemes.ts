import { connectors } from "../../connectors/index.js";
import {
  definePriorityScheme,
  type PriorityScheme,
  type PrioritySchemeTable,
  seedPrioritySchemes,
} from "../../schemas/priority.js";

type RegisteredConnector = (typeof connectors)[keyof typeof connectors];

/** The seed schemes, then each registered connector's own tables; an id used twice fails at load. */
function collectSchemes(): Record<string, PriorityScheme> {
  const all: Record<string, PriorityScheme> = { ...seedPrioritySchemes };
  const owners: Record<string, string> = Object.fromEntries(Object.keys(all).map((id) => [id, "seed"]));
  for (const [type, connector] of Object.entries(connectors) as [string, RegisteredConnector][]) {
    const tables: readonly PrioritySchemeTable[] = [
      ...(connector.priorityScheme ? [connector.priorityScheme] : []),
      ...(connector.otherPrioritySchemes ?? []),
    ];
    for (const table of tables) {
      if (owners[table.id] !== undefined)
        throw new Error(
          `priority scheme ${table.id} of connector ${type} is also defined by ${owners[table.id]}`,
        );
      owners[table.id] = type;
      all[table.id] = definePriorityScheme(table);
    }
  }
  return all;
}

/** Every priority scheme the gateway knows: `GET /v1/priority-schemes`, `POST /v1/priority/translate`, tenant overrides. */
export const prioritySchemes: Readonly<Record<string, PriorityScheme>> = collectSchemes();

/** The scheme ids, as a non-empty tuple for `z.enum`. */
export const prioritySchemeIds = Object.keys(prioritySchemes) as [string, ...string[]];

/** The scheme a connector translates with, whose tenant override reaches its connections; null when it has none. */
export function prioritySchemeOf(connector: { priorityScheme: PrioritySchemeTable | null }): string | null {
  return connector.priorityScheme?.id ?? null;
}
