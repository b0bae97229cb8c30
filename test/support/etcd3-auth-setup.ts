/**
 * The users the npm `etcd3` client tests sign in as, made through the client itself (as an
 * operator would): `root` (password rootpw, role root), `alice` (password alicepw, role `app`,
 * which may read and write under /app/); then auth is enabled.
 */
import type { Etcd3 } from 'etcd3';

export async function enableAuthWithAlice(admin: Etcd3): Promise<void> {
  const root = await admin.user('root').create('rootpw');
  await root.addRole('root');
  const app = await admin.role('app').create();
  await app.grant({ permission: 'Readwrite', range: admin.range({ prefix: '/app/' }) });
  await (await admin.user('alice').create('alicepw')).addRole('app');
  await admin.auth.authEnable({});
}
