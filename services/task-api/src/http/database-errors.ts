// Moved to @taskmesh/core: every service with a database answers its failures the same way.
export { translateDatabaseErrors } from "@taskmesh/core";
