import express, { type Router } from "express";

/** POST /cron/reminders: the `reminders-cron` input binding's tick (cron.yaml), every replica. */
export function cronRoutes(fireReminders: () => Promise<number>): Router {
  const router = express.Router();
  router.post("/cron/reminders", async (_req, res) => {
    const fired = await fireReminders();
    res.json({ fired });
  });
  return router;
}
