/**
 * The machine's PostgreSQL and MariaDB/MySQL for tests. Every test run works in a database of its own
 * (CREATE DATABASE with a random name, dropped afterwards), so runs never collide and nothing of anyone else's
 * is touched. The servers themselves are never stopped: outages are simulated with a TCP relay (tcp-relay.ts).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The drivers are (dev and optional peer) dependencies of @imspect/logger-sql, resolved from there.
const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../packages/logger-sql/package.json'));
const pg = require('pg') as typeof import('pg');
const mysql = require('mysql2/promise') as typeof import('mysql2/promise');

export const POSTGRES_ADMIN_URL = process.env['IMSPECT_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_ADMIN_URL = process.env['IMSPECT_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDatabase {
  /** URL of the fresh database. */
  url: string;
  host: string;
  port: number;
  /** The same database reached through another host:port (a relay). */
  urlVia(host: string, port: number): string;
  drop(): Promise<void>;
}

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function postgresMissing(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL} (${(error as Error).message}); set IMSPECT_TEST_POSTGRES_URL`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function mysqlMissing(): Promise<string | undefined> {
  try {
    const connection = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 3000 });
    await connection.query('SELECT 1');
    await connection.end();
    return undefined;
  } catch (error) {
    return `MariaDB/MySQL is not reachable at ${MYSQL_ADMIN_URL} (${(error as Error).message}); set IMSPECT_TEST_MYSQL_URL`;
  }
}

function freshName(): string {
  return `imspect_t_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(admin: string, name: string): { url: string; host: string; port: number; urlVia(host: string, port: number): string } {
  const parsed = new URL(admin);
  parsed.pathname = `/${name}`;
  const via = (host: string, port: number) => {
    const u = new URL(parsed.toString());
    u.hostname = host;
    u.port = String(port);
    return u.toString();
  };
  return { url: parsed.toString(), host: parsed.hostname, port: Number(parsed.port), urlVia: via };
}

export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = freshName();
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    ...withDatabase(POSTGRES_ADMIN_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function createMysqlDatabase(): Promise<TestDatabase> {
  const name = freshName();
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
  try {
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  return {
    ...withDatabase(MYSQL_ADMIN_URL, name),
    async drop() {
      const c = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}
