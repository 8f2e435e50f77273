"""Canned replies (快捷短语) and macros: what agents say to buyers, and a reply, field changes and a transition
applied together with one click. Above tickets and notifications (it renders in the buyer's language, which the
shop's notification settings say); the desk and the API call ``replies.services``."""
