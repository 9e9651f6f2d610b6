import type { FastifyInstance } from 'fastify';
import type { Customer } from '../../../domain/types.js';
import { createCustomer } from '../../../services/customers.js';
import { KuraError } from '../../../lib/errors.js';
import { CreateCustomerBody } from '../../api/customers.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { checkForm, defined, form } from '../forms.js';
import { field } from '../web-request.js';
import { customerPage, limitsInput } from './customer.js';

const PAGE = 100;

/** A customer as the list shows it: with what they use against their limits. */
function listRow(ui: Ui, c: Customer) {
  return { ...c, usage: ui.ctx.repos.customers.usage(c.id) };
}

/** Customers: the searchable list and creation; each customer's own page is in customer.ts. */
export const customerPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/customers', async (request, reply) => {
    const q = field(request.query, 'q').slice(0, 200);
    const cursor = field(request.query, 'cursor').slice(0, 64);
    const rows = q ? ctx.repos.customers.search(q, cursor, PAGE + 1) : ctx.repos.customers.page(cursor, PAGE + 1);
    const customers = rows.slice(0, PAGE).map((c) => listRow(ui, c));
    const next = rows.length > PAGE ? customers[customers.length - 1]!.id : null;
    return page(request, reply, 'admin/customers', i18n.t(request.web.lang, 'manage.customers.title'),
      { customers, q, next }, { nav: 'admin/customers' });
  });

  app.get('/customers/new', async (request, reply) =>
    page(request, reply, 'admin/customer-new', i18n.t(request.web.lang, 'manage.customers.new'), { values: {} }, { nav: 'admin/customers' }));

  app.post('/customers', async (request, reply) => {
    const b = request.body;
    const limits = defined(limitsInput(b)); // on creation an empty limit field is left out: no limit
    const input = defined({
      name: form.text(b, 'name'), email: form.text(b, 'email'), password: form.text(b, 'password'),
      limits: Object.keys(limits).length > 0 ? limits : undefined,
    });
    try {
      const customer = await createCustomer(ctx, checkForm(CreateCustomerBody, input));
      request.auditNote = { action: 'customer.create', resourceType: 'customer', resourceId: customer.id,
        detail: `name=${customer.name} email=${customer.email}` };
      return reply.redirect(`/admin/customers/${customer.id}`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return page(request, reply, 'admin/customer-new', i18n.t(request.web.lang, 'manage.customers.new'),
        { values: { ...input, password: undefined, limits }, error: err.message }, { status: err.status, nav: 'admin/customers' });
    }
  });

  await app.register(customerPage(ui));
};
