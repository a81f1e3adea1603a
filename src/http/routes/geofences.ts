import type { FastifyInstance } from 'fastify';
import { importGeofences, type ImportOptions } from '../../geofences/geofence-import.js';
import { generatedGeofenceId } from '../../geofences/geofence-validation.js';
import { ApiError } from '../api-error.js';
import { listAnswer, parsePage } from '../pagination.js';
import { answer, answers } from '../answers.js';
import { geofenceCollection, geofenceFeature, idParams, pageQuery } from '../schemas.js';
import type { GeofenceStore } from '../../core/store-ports.js';
import type { LiveDevices } from '../live-devices.js';
import { liveDeviceAnswer, pageOf } from '../live-query.js';

/** A stored Feature's geofence id (the import put it in properties.id). */
const featureId = (feature: unknown): string => String((feature as { properties?: { id?: unknown } }).properties?.id);

const tags = ['geofences'];

/** Tells running processors that these geofences of a tenant changed (null: all of them). */
export type GeofencesChanged = (tenantId: string, geofenceIds: readonly string[] | null) => Promise<void>;

export interface GeofenceRouteDeps extends ImportOptions {
  readonly store: GeofenceStore;
  readonly changed: GeofencesChanged;
  /** Who the rules have inside each geofence now. */
  readonly live: LiveDevices;
}

/**
 * Bodies of geofence routes may be larger than the API's 1 MiB: a real 100 000-vertex
 * coastline is about 2.5 MB of GeoJSON. Validation runs on the geometry thread.
 */
const GEOFENCE_BODY_LIMIT = 8 * 1024 * 1024;

async function save(deps: GeofenceRouteDeps, tenantId: string, features: unknown[]): Promise<number> {
  const result = await importGeofences(deps.store, tenantId, { type: 'FeatureCollection', features }, deps);
  if (result.code === 'quota_exceeded') throw new ApiError('quota_exceeded', result.errors.join('; '));
  if (result.errors.length > 0) throw new ApiError('invalid_request', result.errors.join('; '));
  await deps.changed(tenantId, result.ids);
  return result.imported;
}

/** A stored geofence's Feature; a 404 when the tenant has none by that id. */
export async function findGeofence(store: Pick<GeofenceStore, 'feature'>, tenantId: string, id: string): Promise<unknown> {
  const feature = await store.feature(tenantId, id);
  if (feature === null) throw new ApiError('not_found', `no geofence "${id}" in this tenant`);
  return feature;
}

/** `/v1/geofences`: create, list, read, replace, delete and import the tenant's geofences. */
export function geofenceRoutes(app: FastifyInstance, deps: GeofenceRouteDeps): void {
  const { store } = deps;
  app.post('/v1/geofences', {
    schema: { tags, summary: 'Create a geofence (a GeoJSON Feature); 409 when its id exists', body: geofenceFeature, response: answers({ 201: answer.geofence }, { body: true, errors: [403, 409] }) },
    bodyLimit: GEOFENCE_BODY_LIMIT }, async (request, reply) => {
    const feature = request.body as { properties?: Record<string, unknown> | null } | null;
    const id = feature?.properties?.id ?? generatedGeofenceId(feature);
    if (typeof id === 'string') {
      if (await store.exists(request.tenantId, id)) throw new ApiError('conflict', `geofence "${id}" exists; PUT /v1/geofences/${id} replaces it`);
    }
    await save(deps, request.tenantId, [{ ...feature, properties: { ...(feature?.properties ?? {}), id } }]);
    return reply.code(201).send(await findGeofence(store, request.tenantId, String(id)));
  });

  app.post('/v1/geofences/import', {
    schema: {
      tags, summary: 'Create or replace a FeatureCollection at once, all or nothing', body: geofenceCollection,
      response: answers({ 200: answer.object({ imported: { type: 'integer' } }) }, { body: true, errors: [403] }),
    },
    bodyLimit: GEOFENCE_BODY_LIMIT }, async (request) => {
    const collection = request.body as { type?: unknown; features?: unknown } | null;
    if (collection?.type !== 'FeatureCollection' || !Array.isArray(collection.features)) {
      throw new ApiError('invalid_request', 'the body must be a GeoJSON FeatureCollection');
    }
    return { imported: await save(deps, request.tenantId, collection.features) };
  });

  app.get('/v1/geofences', {
    schema: {
      tags, summary: 'List geofences; with occupancy=true each Feature has `occupancy`, the devices the rules have inside it now',
      querystring: pageQuery({ occupancy: { type: 'string', enum: ['true', 'false'] } }), response: answers({ 200: answer.list(answer.geofence) }),
    },
  }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    const features = await store.features(request.tenantId, page);
    if (query.occupancy !== 'true') return listAnswer(request.url, page, features, (row) => row.feature);
    const index = await deps.live.of(request.tenantId);
    return listAnswer(request.url, page, features, (row) => ({ ...(row.feature as object), occupancy: index.occupancy(featureId(row.feature)) }));
  });

  app.get('/v1/geofences/:id/devices', {
    schema: {
      tags, summary: 'The devices the rules have inside the geofence now, by id, with entered_at and the dwell so far',
      params: idParams, querystring: pageQuery(), response: answers({ 200: answer.list(answer.occupant) }, { id: true }),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const page = parsePage(request.query as Record<string, unknown>);
    if (!(await store.exists(request.tenantId, id))) throw new ApiError('not_found', `no geofence "${id}" in this tenant`);
    const now = Date.now();
    const occupants = (await deps.live.of(request.tenantId)).inside(id).map(({ device, enteredAt }) => ({
      device_id: device.deviceId, entered_at: new Date(enteredAt).toISOString(), dwell_seconds: Math.max(0, (now - enteredAt) / 1000),
      last_position: liveDeviceAnswer(device).last_position,
    }));
    return listAnswer(request.url, page, pageOf(occupants, page));
  });

  app.get('/v1/geofences/:id', { schema: { tags, summary: 'One geofence', params: idParams, response: answers({ 200: answer.geofence }, { id: true }) } }, async (request) => findGeofence(store, request.tenantId, (request.params as { id: string }).id));

  app.put('/v1/geofences/:id', {
    schema: { tags, summary: 'Replace a geofence', params: idParams, body: geofenceFeature, response: answers({ 200: answer.geofence }, { body: true, id: true, errors: [403] }) },
    bodyLimit: GEOFENCE_BODY_LIMIT }, async (request) => {
    const { id } = request.params as { id: string };
    const feature = request.body as { properties?: Record<string, unknown> | null } | null;
    await findGeofence(store, request.tenantId, id);
    await save(deps, request.tenantId, [{ ...feature, properties: { ...(feature?.properties ?? {}), id } }]);
    return findGeofence(store, request.tenantId, id);
  });

  app.delete('/v1/geofences/:id', { schema: { tags, summary: 'Delete a geofence', params: idParams, response: answers({ 204: answer.deleted }, { id: true }) } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!(await store.remove(request.tenantId, id))) throw new ApiError('not_found', `no geofence "${id}" in this tenant`);
    await deps.changed(request.tenantId, [id]);
    return reply.code(204).send();
  });
}
