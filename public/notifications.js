// The notifications page: mark everything as read.
import { api, reloadWithToast, toast } from '/app.js';

document.querySelector('[data-action="mark-read"]')?.addEventListener('click', async () => {
  try {
    const { marked } = await api('POST', '/api/notifications/read');
    reloadWithToast(`Marked ${marked} ${marked === 1 ? 'notification' : 'notifications'} as read.`);
  } catch (error) {
    toast(error.message, 'error');
  }
});
