// The CRM through the generated client: create, walk every page, get, merge-patch with If-Match, delete; deal moves;
// the CSV contact import.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { etagOf, ifMatch, iterate } from '@cleancrm/client';
import { delay, signUpOrganization, type TestOrganization } from '../support/organizations.ts';
import { expectProblem, headerOf } from '../support/problems.ts';

let org: TestOrganization;

before(async () => {
  org = await signUpOrganization('crm');
});

describe('companies', () => {
  test('create, list every page, get, patch with If-Match, delete', async () => {
    const api = org.client;
    const names = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli'];
    const created = [];
    for (const [index, name] of names.entries()) {
      const response = await api.companies.create({ name, domain: `${name.toLowerCase()}.example`, employeeCount: 10 * (index + 1) });
      assert.equal(response.status, 201);
      assert.equal(headerOf(response, 'Location'), `/api/v1/companies/${response.result.id}`);
      assert.match(etagOf(response) ?? '', /^"\d+"$/);
      created.push(response);
    }

    // Two per page: three pages, every company once, the last page without a cursor.
    const listed = [];
    for await (const company of iterate((cursor) => api.companies.list(undefined, 2, cursor))) {
      listed.push(company);
    }
    assert.deepEqual(listed.map((c) => c.name).sort(), [...names].sort());
    assert.equal(new Set(listed.map((c) => c.id)).size, names.length);

    const first = created[0]!;
    const read = await api.companies.get(first.result.id);
    assert.equal(read.result.name, 'Acme');
    assert.equal(read.result.domain, 'acme.example');
    assert.equal(etagOf(read), etagOf(first));

    const patch = { industry: 'Anvils', employeeCount: null };
    const patched = await api.with({ ifMatch: etagOf(read) }).companies.update(first.result.id, patch);
    assert.equal(patched.result.industry, 'Anvils');
    assert.equal(patched.result.employeeCount, null);
    assert.equal(patched.result.name, 'Acme', 'a merge patch leaves the other fields alone');
    assert.notEqual(etagOf(patched), etagOf(read));

    const stale = await expectProblem(
      api.with({ ifMatch: etagOf(read) }).companies.update(first.result.id, { industry: 'Rockets' }), 412, 'precondition_failed');
    assert.equal(stale.title, 'Precondition Failed');
    assert.equal((await api.companies.get(first.result.id)).result.industry, 'Anvils', 'the stale write changed nothing');

    const deleted = await api.with({ ifMatch: etagOf(patched) }).companies.delete(first.result.id);
    assert.equal(deleted.status, 204);
    await expectProblem(api.companies.get(first.result.id), 404, 'not_found');
  });

  test('a field that breaks a rule is the typed 400 with errors by field', async () => {
    const problem = await expectProblem(org.client.companies.create({ name: '', domain: 'Not A Host' }), 400, 'validation_failed');
    assert.ok(problem.errors.name?.length, `errors: ${JSON.stringify(problem.errors)}`);
    assert.ok(problem.errors.domain?.length, `errors: ${JSON.stringify(problem.errors)}`);
  });
});

describe('contacts', () => {
  test('create, list every page, get, patch with If-Match, delete', async () => {
    const api = org.client;
    const company = (await api.companies.create({ name: 'Contacts Inc', domain: 'contacts-inc.example' })).result;
    const emails = ['alan@contacts-inc.example', 'barbara@contacts-inc.example', 'claude@contacts-inc.example'];
    const created = [];
    for (const email of emails) {
      const response = await api.contacts.create({ firstName: email.split('@')[0], lastName: 'Tester', email, companyId: company.id });
      assert.equal(response.status, 201);
      assert.equal(headerOf(response, 'Location'), `/api/v1/contacts/${response.result.id}`);
      created.push(response);
    }

    const listed = [];
    for await (const contact of iterate((cursor) => api.contacts.list(undefined, 1, cursor))) {
      listed.push(contact);
    }
    assert.deepEqual(listed.map((c) => c.email).sort(), emails);

    const first = created[0]!;
    const read = await api.contacts.get(first.result.id);
    assert.equal(read.result.companyId, company.id);
    // The generated If-Match parameter (the companies and deals use client.with({ ifMatch }) instead).
    const patched = await api.contacts.update(first.result.id, { jobTitle: 'Engineer' }, undefined, ifMatch(read));
    assert.equal(patched.result.jobTitle, 'Engineer');
    await expectProblem(api.contacts.update(first.result.id, { jobTitle: 'Manager' }, undefined, ifMatch(read)), 412,
      'precondition_failed');

    assert.equal((await api.contacts.delete(first.result.id, undefined, ifMatch(patched))).status, 204);
    await expectProblem(api.contacts.get(first.result.id), 404, 'not_found');
  });

  test('a reference to a missing company is the typed 400 invalid_reference', async () => {
    const problem = await expectProblem(
      org.client.contacts.create({ email: 'dangling@contacts.example', companyId: '01900000-0000-7000-8000-000000000000' }),
      400, 'invalid_reference');
    assert.ok(problem.errors.companyId?.length);
  });
});

describe('deals', () => {
  test('create, list, get, patch with If-Match, move between stages, delete', async () => {
    const api = org.client;
    const pipeline = (await api.pipelines.list()).result.items.find((p) => p.isDefault);
    assert.ok(pipeline, 'a new organization has a default pipeline');
    const open = pipeline.stages.filter((s) => s.kind === 'open');
    const won = pipeline.stages.find((s) => s.kind === 'won');
    assert.ok(open.length >= 2 && won, `stages: ${pipeline.stages.map((s) => `${s.name}/${s.kind}`).join(', ')}`);

    const created = await api.deals.create({ name: 'Big deal', amount: 125_000, currency: 'EUR', expectedCloseDate: '2027-03-31' });
    assert.equal(created.status, 201);
    assert.equal(created.result.pipelineId, pipeline.id);
    assert.equal(created.result.stageId, open[0]!.id);
    assert.equal(created.result.status, 'open');
    await api.deals.create({ name: 'Small deal', amount: 900, currency: 'EUR' });

    const listed = [];
    for await (const deal of iterate((cursor) => api.deals.list(undefined, 1, cursor))) {
      listed.push(deal.name);
    }
    assert.deepEqual(listed.sort(), ['Big deal', 'Small deal']);

    const read = await api.deals.get(created.result.id);
    const patched = await api.with({ ifMatch: etagOf(read) }).deals.update(created.result.id, { amount: 150_000 });
    assert.equal(patched.result.amount, 150_000);

    const moved = await api.with({ ifMatch: etagOf(patched) }).deals.move(created.result.id, { stageId: open[1]!.id });
    assert.equal(moved.result.stageId, open[1]!.id);
    assert.equal(moved.result.probability, open[1]!.probability);
    assert.notEqual(etagOf(moved), etagOf(patched));
    await expectProblem(api.with({ ifMatch: etagOf(patched) }).deals.move(created.result.id, { stageId: won.id }), 412,
      'precondition_failed');

    const closed = await api.with({ ifMatch: etagOf(moved) }).deals.move(created.result.id, { stageId: won.id });
    assert.equal(closed.result.status, 'won');
    assert.ok(closed.result.closedAt);
    const history = (await api.deals.getHistory(created.result.id)).result.items;
    // The creation is the first entry, then one per move.
    assert.deepEqual(history.map((h) => [h.fromStageId, h.toStageId]), [
      [null, open[0]!.id], [open[0]!.id, open[1]!.id], [open[1]!.id, won.id]]);

    assert.equal((await api.with({ ifMatch: etagOf(closed) }).deals.delete(created.result.id)).status, 204);
    await expectProblem(api.deals.get(created.result.id), 404, 'not_found');
  });
});

describe('CSV contact import', () => {
  test('a multipart upload is imported and its progress followed to completion', async () => {
    const api = org.client;
    const csv = [
      'firstName,lastName,email,companyDomain,favouriteColour',
      'Imported,One,imported.one@import.example,import-co.example,green',
      'Imported,Two,imported.two@import.example,import-co.example,blue',
      'Imported,Three,imported.three@import.example,,red',
      'Broken,Row,not-an-email,,grey',
      '',
    ].join('\r\n');
    const file = { data: new Blob([csv], { type: 'text/csv' }), fileName: 'people.csv' };
    const started = await api.imports.startContactImport(undefined, 'skip', file);
    assert.equal(started.status, 202);
    const importId = started.result.importId;
    assert.equal(headerOf(started, 'Location'), `/api/v1/imports/${importId}`);

    const deadline = Date.now() + 60_000;
    const statuses: string[] = [];
    let progress = (await api.imports.get(importId)).result;
    for (;;) {
      if (statuses.at(-1) !== progress.status) {
        statuses.push(progress.status);
      }
      if (progress.status === 'succeeded' || progress.status === 'failed') {
        break;
      }
      assert.ok(Date.now() < deadline, `the import did not finish within 60 s (statuses: ${statuses.join(' → ')})`);
      await delay(250);
      progress = (await api.imports.get(importId)).result;
    }
    assert.equal(progress.status, 'succeeded', progress.failureReason ?? '');
    assert.equal(progress.fileName, 'people.csv');
    assert.equal(progress.rowsRead, 4);
    assert.equal(progress.inserted, 3);
    assert.equal(progress.failed, 1);
    assert.equal(progress.companiesCreated, 1);
    assert.deepEqual(progress.errors.map((e) => [e.line, e.field]), [[5, 'email']]);

    const imported = (await api.contacts.list(undefined, 50, undefined, undefined, undefined, undefined, undefined,
      'imported.two@import.example')).result.items;
    assert.equal(imported.length, 1);
    assert.deepEqual(imported[0]!.customFields, { favouriteColour: 'blue' });
  });
});
